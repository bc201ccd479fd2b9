package restart

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"runtime"
)

// ErrNotExecutable marks a release binary this machine cannot run.
var ErrNotExecutable = errors.New("not an executable for this machine")

var machines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386,
	"arm": elf.EM_ARM, "riscv64": elf.EM_RISCV, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390,
}

// CheckExecutable refuses, before any link moves, a binary that would not
// start here: no exec bit, not ELF, or ELF for another architecture. A
// script with a "#!" line naming an existing interpreter is accepted.
func CheckExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("check %s: %w: mode %v has no exec bit", path, ErrNotExecutable, fi.Mode())
	}
	head := make([]byte, 256)
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	defer fh.Close()
	n, _ := fh.Read(head)
	head = head[:n]
	if bytes.HasPrefix(head, []byte("#!")) {
		return checkInterpreter(path, head)
	}
	f, err := elf.NewFile(fh)
	if err != nil {
		return fmt.Errorf("check %s: %w: not an ELF file", path, ErrNotExecutable)
	}
	want, known := machines[runtime.GOARCH]
	if known && f.Machine != want {
		return fmt.Errorf("check %s: %w: built for %v, this machine is %s", path, ErrNotExecutable, f.Machine, runtime.GOARCH)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("check %s: %w: ELF type %v", path, ErrNotExecutable, f.Type)
	}
	return nil
}

func checkInterpreter(path string, head []byte) error {
	line, _, _ := bytes.Cut(head[2:], []byte("\n"))
	fields := bytes.Fields(line)
	if len(fields) == 0 {
		return fmt.Errorf("check %s: %w: empty #! line", path, ErrNotExecutable)
	}
	if _, err := os.Stat(string(fields[0])); err != nil {
		return fmt.Errorf("check %s: %w: interpreter %s: %v", path, ErrNotExecutable, fields[0], err)
	}
	return nil
}
