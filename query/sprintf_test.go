package query_test

import "fmt"

func sprintf(format string, id int64) string { return fmt.Sprintf(format, id) }
