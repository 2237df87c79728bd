package source

import (
	"context"
	"time"

	util "github.com/alibabacloud-go/tea-utils/v2/service"
	"github.com/alibabacloud-go/tea/tea"
)

// callSlots keeps concurrent SDK calls apart. The SDK (tea v1.5.3, and
// v1.5.4 alike) keeps one shared http.Client per endpoint and timeouts, and
// every call rewrites that client's Timeout while other calls through it are
// reading it: a data race as soon as two targets call one endpoint at once
// (as they do behind a simulator, a proxy or a private endpoint), or an
// abandoned call is still in flight. A call holds a slot from start to
// finish, and each slot adds its own millisecond to the read timeout, so no
// two calls in flight ever share a client; the SDK's pool stays bounded at
// one client per slot and endpoint.
var callSlots = newSlots(32)

type slots chan int

func newSlots(n int) slots {
	s := make(slots, n)
	for i := range n {
		s <- i
	}
	return s
}

// acquire takes a free slot, waiting for one if every slot is busy.
func (s slots) acquire(ctx context.Context) (int, error) {
	select {
	case i := <-s:
		return i, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (s slots) release(i int) { s <- i }

// runtimeOptions are one call's SDK runtime options: its timeouts (the
// slot's millisecond added to the read timeout, see callSlots) and no SDK
// retries, which RetryPolicy does instead.
func runtimeOptions(timeout time.Duration, slot int) *util.RuntimeOptions {
	ms := int(timeout / time.Millisecond)
	return &util.RuntimeOptions{ReadTimeout: tea.Int(ms + slot), ConnectTimeout: tea.Int(ms), Autoretry: tea.Bool(false)}
}
