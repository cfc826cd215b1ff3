package memory_test

import (
	"testing"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/store/memory"
	"github.com/usermgmt/usermgmt/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) usermgmt.Store { return memory.New() })
}
