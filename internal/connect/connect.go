package connect

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Lister lists the account's instances; *vastapi.Client satisfies it. It is all this package
// asks of the API.
type Lister interface {
	ListInstances(ctx context.Context) ([]vastapi.Instance, error)
}

// SSH lists the account's instances, picks the one req names (Pick), says which on stderr and
// replaces the process with the system ssh logging in to it (Exec). It returns only on failure.
func SSH(ctx context.Context, l Lister, cfg *policy.Config, req Request, stderr io.Writer) error {
	instances, err := l.ListInstances(ctx)
	if err != nil {
		return err
	}
	t, err := Pick(instances, cfg, req.Fleet, req.Instance)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "vastwatch ssh: fleet %s, instance %d (index %d), %s@%s\n", t.Fleet, t.ID, t.Index, User, t.SSH.Addr())
	return Exec(Command(t, req.Remote), os.Environ())
}

// PrintConfig lists the account's instances and writes the ssh config of owner's (WriteConfig).
func PrintConfig(ctx context.Context, l Lister, owner string, w io.Writer) error {
	instances, err := l.ListInstances(ctx)
	if err != nil {
		return err
	}
	return WriteConfig(w, owner, instances)
}
