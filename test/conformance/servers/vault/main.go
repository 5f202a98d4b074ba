// The real Vault server for the conformance tier (test tooling, not product code): Vault's own command line.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
