package usermgmt_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryTransactionGoesThroughInTx: the Manager opens transactions
// only in tx.go, so that nothing written with a change can be forgotten
// by a code path that reached the store on its own.
func TestEveryTransactionGoesThroughInTx(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f == "tx.go" || strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), ".RunInTx(") {
			t.Errorf("%s opens a store transaction itself; use m.inTx", f)
		}
	}
}
