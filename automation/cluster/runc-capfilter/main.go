// runc-capfilter is an OCI runtime that runs runc with the container's capabilities
// cut down to the ones this machine's capability bounding set still has.
//
// Some sandboxed hosts drop a capability (CAP_SYS_RESOURCE here) from every process's
// bounding set. runc then fails to start a privileged container ("unable to apply caps:
// operation not permitted") because the OCI spec asks for all of them, and kind always
// starts its nodes privileged. Registered as docker's (and the kind node's containerd's)
// runtime, this wrapper edits the bundle's config.json (or exec's process.json) and then
// execs the real runc with the same arguments. Where nothing is missing it changes nothing.
//
// Without CAP_SYS_RESOURCE a process also cannot lower its OOM score adjustment, and kubelet asks
// for -998 for pod sandboxes: that request is raised to this process's own adjustment, the lowest
// the container could get here.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// capNames maps capability numbers to the names OCI specs use (linux/capability.h).
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
	"CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
	"CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// missingCapabilities lists the known capabilities absent from this process's bounding set.
func missingCapabilities() (map[string]bool, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		value, ok := strings.CutPrefix(scanner.Text(), "CapBnd:")
		if !ok {
			continue
		}
		bounding, err := strconv.ParseUint(strings.TrimSpace(value), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("CapBnd %q: %w", value, err)
		}
		missing := map[string]bool{}
		for bit, name := range capNames {
			if bounding&(1<<uint(bit)) == 0 {
				missing[name] = true
			}
		}
		return missing, nil
	}
	return nil, fmt.Errorf("no CapBnd line in /proc/self/status")
}

// filterProcess removes the missing capabilities from an OCI "process" object's capability sets.
func filterProcess(process map[string]any, missing map[string]bool) {
	caps, ok := process["capabilities"].(map[string]any)
	if !ok {
		return
	}
	for set, list := range caps {
		names, ok := list.([]any)
		if !ok {
			continue
		}
		kept := make([]any, 0, len(names))
		for _, name := range names {
			if s, isString := name.(string); !isString || !missing[s] {
				kept = append(kept, name)
			}
		}
		caps[set] = kept
	}
}

// raiseOOMScoreAdj lifts the process's oomScoreAdj to at least this process's own.
func raiseOOMScoreAdj(process map[string]any) error {
	wanted, ok := process["oomScoreAdj"].(float64)
	if !ok {
		return nil
	}
	data, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return err
	}
	own, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return err
	}
	if int(wanted) < own {
		process["oomScoreAdj"] = own
	}
	return nil
}

// rewrite applies filterProcess to a JSON file: to its "process" member when nested (a bundle's
// config.json, whose oomScoreAdj is raised too), else to the whole document (runc exec --process).
func rewrite(path string, missing map[string]bool, nested bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	process := doc
	if nested {
		inner, ok := doc["process"].(map[string]any)
		if !ok {
			return nil
		}
		process = inner
	}
	filterProcess(process, missing)
	if nested && missing["CAP_SYS_RESOURCE"] {
		if err := raiseOOMScoreAdj(process); err != nil {
			return err
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, info.Mode().Perm())
}

// flagValue finds "--name value", "--name=value" or "-short value" among args.
func flagValue(args []string, long, short string) (string, bool) {
	for i, arg := range args {
		if value, ok := strings.CutPrefix(arg, long+"="); ok {
			return value, true
		}
		if (arg == long || (short != "" && arg == short)) && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// subcommand returns runc's subcommand and the arguments after it (global flags come first).
func subcommand(args []string) (string, []string) {
	withValue := map[string]bool{"--root": true, "--log": true, "--log-format": true, "--criu": true, "--rootless": true}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if withValue[arg] {
			i++
			continue
		}
		if !strings.HasPrefix(arg, "-") {
			return arg, args[i+1:]
		}
	}
	return "", nil
}

func realRuntime() string {
	if path := os.Getenv("RUNC_CAPFILTER_RUNTIME"); path != "" {
		return path
	}
	self, _ := os.Executable()
	for _, candidate := range []string{"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc"} {
		if resolved, err := filepath.EvalSymlinks(candidate); err == nil && resolved != self {
			return candidate
		}
	}
	return "runc"
}

func main() {
	args := os.Args[1:]
	missing, err := missingCapabilities()
	if err != nil {
		fmt.Fprintln(os.Stderr, "runc-capfilter:", err)
		os.Exit(1)
	}
	if len(missing) > 0 {
		command, rest := subcommand(args)
		switch command {
		case "create", "run":
			bundle, ok := flagValue(rest, "--bundle", "-b")
			if !ok {
				bundle = "."
			}
			err = rewrite(filepath.Join(bundle, "config.json"), missing, true)
		case "exec":
			if process, ok := flagValue(rest, "--process", "-p"); ok {
				err = rewrite(process, missing, false)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "runc-capfilter:", err)
			os.Exit(1)
		}
	}
	runtime := realRuntime()
	if err := syscall.Exec(runtime, append([]string{runtime}, args...), os.Environ()); err != nil {
		fmt.Fprintf(os.Stderr, "runc-capfilter: exec %s: %v\n", runtime, err)
		os.Exit(1)
	}
}
