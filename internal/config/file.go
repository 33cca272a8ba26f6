package config

import (
	"fmt"
	"os"

	yaml "go.yaml.in/yaml/v4"
)

// fileValue is one option of a config file, with its line for error messages.
type fileValue struct {
	value string
	line  int
}

// readFile reads a --config file: a YAML mapping whose keys are the flag names (hyphens and
// all) and whose values are scalars, written as they would be on the command line. An unknown
// key is an error naming its line, so a typo never silently leaves a default in force. Secret
// options may only be in a file that group and others cannot read.
func readFile(path string) (map[string]fileValue, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	return parseFile(path, data, st.Mode().Perm())
}

// parseFile parses the content of the config file named path, whose permission bits are perm.
func parseFile(path string, data []byte, perm os.FileMode) (map[string]fileValue, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config file %s: not YAML: %v", path, err)
	}
	out := map[string]fileValue{}
	if len(doc.Content) == 0 {
		return out, nil // an empty file sets nothing
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config file %s line %d: want a mapping of option names to values", path, root.Line)
	}
	known := map[string]option{}
	for _, o := range options {
		known[o.name] = o
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		o, ok := known[k.Value]
		switch {
		case k.Kind != yaml.ScalarNode || !ok:
			return nil, fmt.Errorf("config file %s line %d: unknown key %q (keys are the flag names, as in tollgate serve -h)", path, k.Line, k.Value)
		case v.Kind != yaml.ScalarNode:
			return nil, fmt.Errorf("config file %s line %d: %s must be a single value", path, v.Line, k.Value)
		case o.secret && perm&0o077 != 0:
			return nil, fmt.Errorf("config file %s line %d: %s is a secret, and the file is mode %04o: make it readable by its owner only (chmod 600)", path, k.Line, k.Value, perm)
		}
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("config file %s line %d: %s is set twice", path, k.Line, k.Value)
		}
		out[k.Value] = fileValue{value: v.Value, line: v.Line}
	}
	return out, nil
}
