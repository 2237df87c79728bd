package query_test

import (
	"os"
	"testing"

	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
