// SPDX-License-Identifier: Apache-2.0

package shipped

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The docs tell people what to set in Knative, KEDA and coinflip, and which
// kubectl commands to run. These helpers cut the shipped docs into the
// pieces a reader takes as one instruction, so that the tests can check
// every instruction with the values that stand together in it.

// kubernetesDir holds the manifests and the Kubernetes README.
var kubernetesDir = filepath.Join(repoRoot, "examples", "kubernetes")

// docFiles are the files whose prose, comments or data tell a reader what
// to configure: the two READMEs and everything under examples/kubernetes.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{filepath.Join(repoRoot, "README.md")}
	err := filepath.WalkDir(kubernetesDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// docBlock is one instruction: a paragraph or list item of a README, a
// paragraph of comments in a YAML file or Dockerfile, or the data of one
// YAML document.
type docBlock struct {
	where string // file:line of its first line, relative to the repository
	text  string
}

// docBlocks cuts file into blocks. In Markdown, blank lines, list items
// and fences start new blocks. In other files, comment paragraphs and the
// non-comment lines of each YAML document are separate blocks, so a
// comment describing an alternative never mixes with the values set.
func docBlocks(t *testing.T, file string) []docBlock {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(repoRoot, file)
	lines := strings.Split(string(data), "\n")
	var blocks []docBlock
	var cur []string
	start := 0
	flush := func() {
		if text := strings.TrimSpace(strings.Join(cur, "\n")); text != "" {
			blocks = append(blocks, docBlock{where: rel + ":" + strconv.Itoa(start+1), text: text})
		}
		cur = nil
	}
	add := func(i int, line string) {
		if len(cur) == 0 {
			start = i
		}
		cur = append(cur, line)
	}
	if strings.HasSuffix(file, ".md") {
		for i, line := range lines {
			trimmed := strings.TrimSpace(line)
			switch {
			case trimmed == "" || strings.HasPrefix(trimmed, "```"):
				flush()
			case strings.HasPrefix(line, "- ") || strings.HasPrefix(line, "* ") || strings.HasPrefix(trimmed, "|"):
				flush()
				add(i, line)
			default:
				add(i, line)
			}
		}
		flush()
		return blocks
	}

	// Comments and data are collected apart: data lines of a document
	// form one block even when comments sit between them.
	var dataLines []string
	dataStart := -1
	flushData := func() {
		if text := strings.TrimSpace(strings.Join(dataLines, "\n")); text != "" {
			blocks = append(blocks, docBlock{where: rel + ":" + strconv.Itoa(dataStart+1), text: text})
		}
		dataLines, dataStart = nil, -1
	}
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "---":
			flush()
			flushData()
		case strings.HasPrefix(trimmed, "#"):
			comment := strings.TrimSpace(strings.TrimPrefix(trimmed, "#"))
			if comment == "" {
				flush()
				continue
			}
			add(i, comment)
		default:
			flush()
			if trimmed == "" {
				continue
			}
			if dataStart < 0 {
				dataStart = i
			}
			dataLines = append(dataLines, line)
		}
	}
	flush()
	flushData()
	return blocks
}

// docSetting matches the settings the docs give sources: Knative ConfigMap
// keys written as `key: value`, and environment variables as NAME=value.
var docSetting = regexp.MustCompile("(tracing-endpoint|tracing-protocol|tracing-sampling-rate|zipkin-endpoint|sample-rate|backend):[ \t]*\"?([^\\s\"`,]+)" +
	"|((?:OTEL_EXPORTER_OTLP_(?:TRACES_)?(?:ENDPOINT|PROTOCOL|INSECURE))|OTLP_TRACE_ENDPOINT)=([^\\s\"`',]+)")

// settings returns every key and value the block sets, in order. A value
// loses punctuation that ends the sentence around it.
func (b docBlock) settings() [][2]string {
	var out [][2]string
	for _, m := range docSetting.FindAllStringSubmatch(b.text, -1) {
		key, value := m[1], m[2]
		if key == "" {
			key, value = m[3], m[4]
		}
		out = append(out, [2]string{key, strings.TrimRight(value, ".;:)")})
	}
	return out
}

// values returns the values the block gives key.
func (b docBlock) values(key string) []string {
	var out []string
	for _, kv := range b.settings() {
		if kv[0] == key {
			out = append(out, kv[1])
		}
	}
	return out
}

// kubectlCommand is one kubectl command line in the docs.
type kubectlCommand struct {
	where string
	args  []string // after "kubectl"
}

var kubectlLine = regexp.MustCompile("kubectl[ \t]+[^`\n]*")

// kubectlCommands finds every kubectl command in the doc files: in code
// spans, code blocks and comments.
func kubectlCommands(t *testing.T) []kubectlCommand {
	t.Helper()
	var cmds []kubectlCommand
	for _, f := range docFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(repoRoot, f)
		for i, line := range strings.Split(string(data), "\n") {
			for _, m := range kubectlLine.FindAllString(line, -1) {
				fields := strings.Fields(m)[1:]
				cmds = append(cmds, kubectlCommand{where: rel + ":" + strconv.Itoa(i+1), args: fields})
			}
		}
	}
	return cmds
}

// verb is the command's first word, e.g. "patch".
func (c kubectlCommand) verb() string {
	if len(c.args) == 0 {
		return ""
	}
	return c.args[0]
}

// flag returns the value of a flag given as "--name value", "--name=value",
// "-s value" or "-s=value", and whether it is present.
func (c kubectlCommand) flag(long, short string) (string, bool) {
	for i, a := range c.args {
		for _, name := range []string{long, short} {
			if name == "" {
				continue
			}
			if a == name {
				if i+1 < len(c.args) {
					return c.args[i+1], true
				}
				return "", true
			}
			if v, ok := strings.CutPrefix(a, name+"="); ok {
				return v, true
			}
		}
	}
	return "", false
}

// flagsWithValue are the flags used in the docs that take a value, so
// that positional arguments can be told from flag values.
var flagsWithValue = map[string]bool{"-n": true, "--namespace": true, "--type": true, "--patch-file": true, "-p": true, "--patch": true, "-f": true, "--filename": true, "-o": true}

// positional returns the arguments after the verb that are neither flags
// nor flag values, e.g. ["configmap", "config-tracing"].
func (c kubectlCommand) positional() []string {
	var out []string
	for i := 1; i < len(c.args); i++ {
		a := c.args[i]
		if strings.HasPrefix(a, "-") {
			if flagsWithValue[a] {
				i++
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

func (c kubectlCommand) String() string { return "kubectl " + strings.Join(c.args, " ") }
