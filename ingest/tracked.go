package ingest

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/store"
)

// tracked polls a tracked source's unfinished tasks (DESIGN.md §11).
func (r *Runner) tracked(ctx context.Context, target store.Target, api source.Options, logger *slog.Logger) (store.Run, error) {
	return store.Run{}, fmt.Errorf("%s: tracked sources are not archived by this version yet", target)
}
