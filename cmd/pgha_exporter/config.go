package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"go.yaml.in/yaml/v2"
)

// The optional YAML configuration file (--config.file) holds flag values,
// grouped by the flag's first dotted part; the check command's own flags sit
// under "check":
//
//	crm:
//	  refresh-interval: 5s
//	collector:
//	  postgres: false
//	web:
//	  listen-address: [127.0.0.1:9732]
//	check:
//	  stonith-disabled: ok
//	  warning: "0"
//
// Every key must name an existing flag; a flag given on the command line
// wins over the file. The file is turned into command-line arguments, so it
// is validated exactly like flags.

const configFlag = "config.file"

// findConfigFile returns the value of --config.file in args, if any.
func findConfigFile(args []string) string {
	for i, a := range args {
		switch {
		case a == "--":
			return ""
		case strings.HasPrefix(a, "--"+configFlag+"="):
			return strings.TrimPrefix(a, "--"+configFlag+"=")
		case a == "--"+configFlag && i+1 < len(args):
			return args[i+1]
		}
	}
	return ""
}

// configArg is the command-line form of one key of the file.
type configArg struct {
	key  string
	args []string
}

// configArgs reads the file and returns arguments for every flag it sets
// that args does not set already.
func configArgs(app *kingpin.Application, path string, args []string, checkMode bool) ([]configArg, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var doc map[string]map[string]any
	if err := yaml.UnmarshalStrict(data, &doc); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	set := flagsSet(app, args)
	var out []configArg
	for _, section := range slices.Sorted(maps.Keys(doc)) {
		for _, key := range slices.Sorted(maps.Keys(doc[section])) {
			name := section + "." + key
			flag := app.GetFlag(name)
			if section == "check" {
				flag = app.GetCommand("check").GetFlag(key)
				name = key
			}
			if flag == nil || name == configFlag {
				return nil, fmt.Errorf("config file %s: unknown key %q (no flag --%s)", path, section+"."+key, name)
			}
			if set[name] || (section == "check" && !checkMode) {
				continue
			}
			a, err := flagArgs(name, flag.Model().IsBoolFlag(), doc[section][key])
			if err != nil {
				return nil, fmt.Errorf("config file %s: key %q: %w", path, section+"."+key, err)
			}
			out = append(out, configArg{key: section + "." + key, args: a})
		}
	}
	return out, nil
}

// badConfigKey finds the key whose value the parser rejects, by parsing
// the command line with one key's arguments at a time.
func badConfigKey(args []string, extra []configArg, parse func([]string) error) (string, error) {
	for _, e := range extra {
		if err := parse(append(append([]string{}, args...), e.args...)); err != nil {
			return e.key, err
		}
	}
	return "", nil
}

// flagArgs renders one value (a scalar or a list for repeatable flags).
func flagArgs(name string, isBool bool, v any) ([]string, error) {
	switch x := v.(type) {
	case bool:
		if !isBool {
			return nil, fmt.Errorf("--%s takes a value, not a boolean", name)
		}
		if x {
			return []string{"--" + name}, nil
		}
		return []string{"--no-" + name}, nil
	case []any:
		var out []string
		for _, e := range x {
			a, err := flagArgs(name, isBool, e)
			if err != nil {
				return nil, err
			}
			out = append(out, a...)
		}
		return out, nil
	case nil:
		return nil, fmt.Errorf("no value")
	case map[any]any:
		return nil, fmt.Errorf("nested keys are not allowed")
	}
	if isBool {
		return nil, fmt.Errorf("--%s takes true or false", name)
	}
	return []string{fmt.Sprintf("--%s=%v", name, v)}, nil
}

// flagsSet lists the long names of the flags args sets explicitly.
func flagsSet(app *kingpin.Application, args []string) map[string]bool {
	short := map[string]string{}
	for _, f := range app.Model().Flags {
		if f.Short != 0 {
			short[string(f.Short)] = f.Name
		}
	}
	if check := app.GetCommand("check"); check != nil {
		for _, f := range check.Model().Flags {
			if f.Short != 0 {
				short[string(f.Short)] = f.Name
			}
		}
	}
	set := map[string]bool{}
	for _, a := range args {
		if a == "--" {
			break
		}
		switch {
		case strings.HasPrefix(a, "--"):
			name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			set[strings.TrimPrefix(name, "no-")] = true
		case strings.HasPrefix(a, "-") && len(a) >= 2:
			if long, ok := short[a[1:2]]; ok {
				set[long] = true
			}
		}
	}
	return set
}
