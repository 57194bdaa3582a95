// compose-check loads a Compose file with compose-go, the library Docker Compose itself
// uses: schema validation, interpolation, merges (YAML anchors, extends), profiles and
// depends_on checks, all without a Docker engine. It prints the resolved services and
// exits non-zero with the loader's error when the file is invalid.
//
//	compose-check [-profile name]... docker-compose.yml
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

type profiles []string

func (p *profiles) String() string     { return strings.Join(*p, ",") }
func (p *profiles) Set(v string) error { *p = append(*p, v); return nil }

func main() {
	var prof profiles
	flag.Var(&prof, "profile", "enable a profile (repeatable)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: compose-check [-profile name]... <compose-file>")
		os.Exit(2)
	}
	file := flag.Arg(0)
	opts, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithOsEnv,
		cli.WithDotEnv,
		cli.WithProfiles(prof),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "compose-check: %s: %v\n", file, err)
		os.Exit(1)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "compose-check: %s: %v\n", file, err)
		os.Exit(1)
	}
	problems := 0
	names := project.ServiceNames()
	sort.Strings(names)
	for _, name := range names {
		svc := project.Services[name]
		for dep := range svc.DependsOn {
			if _, ok := project.Services[dep]; !ok {
				fmt.Fprintf(os.Stderr, "compose-check: service %s depends on %s, which is not enabled\n", name, dep)
				problems++
			}
		}
		for _, v := range svc.Volumes {
			if v.Type == "bind" {
				if _, err := os.Stat(v.Source); err != nil && v.Source != "/var/run/docker.sock" {
					fmt.Fprintf(os.Stderr, "compose-check: service %s mounts %s, which does not exist\n", name, v.Source)
					problems++
				}
			}
		}
		for _, p := range svc.Ports {
			if p.HostIP != "127.0.0.1" {
				fmt.Fprintf(os.Stderr, "compose-check: service %s publishes port %s on %q; publish on 127.0.0.1 only\n", name, p.Published, p.HostIP)
				problems++
			}
		}
		fmt.Printf("%-18s %s\n", name, describe(svc.Image, svc.Build != nil, svc.HealthCheck != nil))
	}
	if problems > 0 {
		os.Exit(1)
	}
	fmt.Printf("compose-check: %s is valid (%d services, profiles %v)\n", file, len(names), []string(prof))
}

func describe(image string, build bool, health bool) string {
	s := image
	if build {
		s += " (built here)"
	}
	if health {
		s += ", healthcheck"
	}
	return s
}
