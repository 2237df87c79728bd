package audit

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// pipelineBatch is how many items travel between stages at once.
const pipelineBatch = 512

// The export runs as a pipeline of goroutines: one reads the database, one
// folds or renders rows, one encodes and writes, so on two cores their work
// overlaps instead of taking turns. Items keep their order; the first error
// stops every stage.

// source runs produce in g and returns the batches it emits.
func source[T any](ctx context.Context, g *errgroup.Group, produce func(emit func(T) error) error) <-chan []T {
	out := make(chan []T, 4)
	g.Go(func() error {
		defer close(out)
		batch := make([]T, 0, pipelineBatch)
		send := func() error {
			select {
			case out <- batch:
				batch = make([]T, 0, pipelineBatch)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err := produce(func(item T) error {
			batch = append(batch, item)
			if len(batch) == pipelineBatch {
				return send()
			}
			return nil
		})
		if err == nil && len(batch) > 0 {
			err = send()
		}
		return err
	})
	return out
}

// mapStage runs fn over every item of in, in g, and returns the results.
func mapStage[In, Out any](ctx context.Context, g *errgroup.Group, in <-chan []In, fn func(*In) (Out, error)) <-chan []Out {
	return source(ctx, g, func(emit func(Out) error) error {
		for batch := range in {
			for i := range batch {
				v, err := fn(&batch[i])
				if err != nil {
					return err
				}
				if err := emit(v); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// sink runs consume over every item of in, in g.
func sink[T any](g *errgroup.Group, in <-chan []T, consume func(*T) error) {
	g.Go(func() error {
		for batch := range in {
			for i := range batch {
				if err := consume(&batch[i]); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// pipeline is a two-stage pipeline: produce, then consume.
func pipeline[T any](ctx context.Context, produce func(emit func(T) error) error, consume func(*T) error) error {
	g, ctx := errgroup.WithContext(ctx)
	sink(g, source(ctx, g, produce), consume)
	return g.Wait()
}
