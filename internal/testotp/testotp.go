// Package testotp computes TOTP codes with oathtool, the reference tool
// (Debian package oathtool; .ci/run installs it), so that tests check the
// library's codes against an implementation nobody here wrote.
package testotp

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Oathtool returns the six-digit TOTP code of the base32 secret at time at.
func Oathtool(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	path, err := exec.LookPath("oathtool")
	if err != nil {
		t.Fatalf("oathtool is required (Debian package oathtool; .ci/run installs it): %v", err)
	}
	out, err := exec.Command(path, "--totp", "-b", secret, "--now", at.UTC().Format("2006-01-02 15:04:05 UTC")).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}
