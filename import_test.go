package usermgmt_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/importtest"
	"github.com/usermgmt/usermgmt/store/memory"
)

// TestImportUsers: the rules of ImportUsers on the memory store
// (store/postgres runs them on PostgreSQL).
func TestImportUsers(t *testing.T) {
	importtest.Run(t, func(t *testing.T) usermgmt.Store { return memory.New() })
}

// TestImportMemoryIsFlat: a dry run over 200,000 records (10,000 of them
// refused) holds a batch, not the file: the heap measured after each
// batch stays within a few MB of where it started.
func TestImportMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("200,000 records")
	}
	e := mustManager(t)
	const n = 200_000
	hash := importtest.Hash()
	records := func(yield func(usermgmt.ImportRecord, error) bool) {
		for i := range n {
			email := fmt.Sprintf("user%06d@acme.test", i)
			if i%20 == 0 {
				email = fmt.Sprintf("bad%06d", i)
			}
			if !yield(usermgmt.ImportRecord{Line: i + 2, Email: email, Roles: []usermgmt.Role{usermgmt.RoleAgent},
				PasswordHash: hash}, nil) {
				return
			}
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	start, peak := heap(), uint64(0)
	res, err := e.m.ImportUsers(system, tenant, records, usermgmt.ImportOptions{DryRun: true,
		Progress: func(usermgmt.ImportProgress) { peak = max(peak, heap()) }})
	require.NoError(t, err)
	require.Equal(t, n/20, res.Failed)
	require.Equal(t, n-n/20, res.Created)
	require.Len(t, res.Errors, 1000, "the first 1,000 kept")
	growth := int64(peak) - int64(start)
	t.Logf("heap growth at the peak: %.1f MB", float64(growth)/(1<<20))
	require.Less(t, growth, int64(8<<20))
}
