// compose-config: `docker compose config --format json` without a Docker engine or the
// compose plugin (neither exists on the machines that run `make test`). It loads the file
// with compose-go, the library the compose plugin itself loads files with: the same
// interpolation, merge keys, profiles, validation against the compose specification and
// the same errors for a variable that is required and unset. scripts/compose-config builds
// it; devstack.compose reads its output.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: compose-config COMPOSE_FILE ENV_FILE [PROFILE...]")
		os.Exit(2)
	}
	opts, err := cli.NewProjectOptions(
		[]string{os.Args[1]},
		cli.WithName("um-accounts"),
		cli.WithEnvFiles(os.Args[2]),
		cli.WithDotEnv,
		cli.WithProfiles(os.Args[3:]),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
