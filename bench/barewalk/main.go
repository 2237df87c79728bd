// Command barewalk times a bare NextToken walk of one region's send-file
// listing: the same client the archiver uses (SDK signing, HTTP, JSON
// parsing), no rate limit and no database. It is the baseline the one-year
// ingest is measured against (bench/one-year.sh), as BenchmarkIngest's
// bare walk is for the six-week one.
//
//	barewalk --endpoint http://127.0.0.1:8199 --region cn-hangzhou
//
// Credentials come from the standard chain (the simulator's keys in
// ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET). It prints
// one line: pages, records and seconds.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/cloudassistant/sendfile-archive/ingest/source"
)

func main() {
	endpoint := flag.String("endpoint", "", "the API endpoint (the simulator's URL)")
	region := flag.String("region", "cn-hangzhou", "the region to walk")
	flag.Parse()
	if err := run(context.Background(), *endpoint, *region); err != nil {
		fmt.Fprintln(os.Stderr, "barewalk:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, endpoint, region string) error {
	client, err := source.NewClient(region, source.Options{Endpoint: endpoint})
	if err != nil {
		return fmt.Errorf("client for %s: %w", region, err)
	}
	start := time.Now()
	pages, records, token := 0, 0, ""
	for {
		p, _, err := client.ListPage(ctx, token)
		if err != nil {
			return fmt.Errorf("page %d: %w", pages+1, err)
		}
		pages++
		records += len(p.Invocations)
		if p.NextToken == "" {
			break
		}
		token = p.NextToken
	}
	fmt.Printf("pages %d records %d seconds %.3f\n", pages, records, time.Since(start).Seconds())
	return nil
}
