// Command gen writes the compact registry that semconv.Embedded reads, from the model
// directory of a semantic-conventions checkout, and copies its LICENSE beside it:
//
//	go run ./gen -model /path/to/semantic-conventions/model -version 1.44.0 -out registry-v1.44.0.json
//
// Without -model it reads $SEMCONV_MODEL, or else the v1.44.0 copy kept beside this
// repository (../shared/semconv/v1.44.0/model from the repository root); when neither exists
// it says so and leaves the committed files as they are.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/schema/semconv"
)

// defaultModel is the v1.44.0 model directory relative to the semconv package directory.
const defaultModel = "../../../../../../shared/semconv/v1.44.0/model"

func main() {
	model := flag.String("model", os.Getenv("SEMCONV_MODEL"), "the registry's model directory (default $SEMCONV_MODEL)")
	version := flag.String("version", "", "the semantic-conventions version of the model")
	out := flag.String("out", "", "the compact registry to write")
	flag.Parse()
	if *out == "" || *version == "" {
		fail(errors.New("-out and -version are required"))
	}
	if *model == "" {
		if _, err := os.Stat(defaultModel); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "gen: no model directory (set SEMCONV_MODEL to the model/ of a semantic-conventions v%s checkout); %s left as it is\n", *version, *out)
			return
		}
		*model = defaultModel
	}
	r, err := semconv.LoadDir(*model)
	if err != nil {
		fail(err)
	}
	r.Version = *version
	data, err := r.MarshalCompact()
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fail(err)
	}
	license, err := os.ReadFile(filepath.Join(*model, "..", "LICENSE"))
	if err != nil {
		fail(fmt.Errorf("the registry's LICENSE must be kept beside the data: %w", err))
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(*out), "LICENSE"), license, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}
