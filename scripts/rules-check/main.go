// rules-check validates Prometheus rule files the way Prometheus loads them (rulefmt: the
// YAML's fields, every expression parsed as PromQL, every annotation and label template
// parsed), without a Prometheus server. Used by scripts/validate-deploy.
//
//	rules-check <file>...
package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

func main() {
	bad := 0
	for _, file := range os.Args[1:] {
		groups, errs := rulefmt.ParseFile(file, false, model.UTF8Validation,
			parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
		for _, err := range errs {
			fmt.Fprintln(os.Stderr, err)
			bad++
		}
		if len(errs) == 0 && groups != nil {
			rules := 0
			for _, g := range groups.Groups {
				rules += len(g.Rules)
			}
			fmt.Printf("%s: %d rules in %d groups, valid for Prometheus\n", file, rules, len(groups.Groups))
		}
	}
	if bad > 0 {
		os.Exit(1)
	}
}
