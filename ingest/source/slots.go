package source

import (
	"context"
	"sync"
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

// sdkPool hands each call in flight an SDK client of its own. Besides the
// shared http.Client above, the SDK's CallApi writes to the client it is
// called on (GetRpcHeaders clears client.Headers on every RPC call), so two
// calls through one client race: a walk's read-ahead listing beside a
// command's run results, or a retry beside an abandoned call still in
// flight. A call holds its slot from start to finish, so the slot keys the
// client; a pool holds at most one client per slot.
type sdkPool struct {
	build  func() (caller, error)
	mu     sync.Mutex
	bySlot map[int]caller
}

func newSDKPool(build func() (caller, error)) *sdkPool {
	return &sdkPool{build: build, bySlot: map[int]caller{}}
}

// client returns slot's client, building it the first time.
func (p *sdkPool) client(slot int) (caller, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.bySlot[slot]; ok {
		return c, nil
	}
	c, err := p.build()
	if err != nil {
		return nil, err
	}
	p.bySlot[slot] = c
	return c, nil
}
