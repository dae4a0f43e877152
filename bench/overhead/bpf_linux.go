package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
)

// bpfDrops finds the eBPF driver's `drops` map among the BPF maps the
// process holds open and sums its per-CPU counters.
func bpfDrops(pid int) (uint64, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		if l, _ := os.Readlink(dir + "/" + e.Name()); l != "anon_inode:bpf-map" {
			continue
		}
		id, ok := fdinfoID(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, e.Name()), "map_id:")
		if !ok {
			continue
		}
		n, found, err := readDropsMap(ebpf.MapID(id))
		if err != nil {
			return 0, err
		}
		if found {
			return n, nil
		}
	}
	return 0, errors.New("no BPF map named \"drops\" among vigil's descriptors")
}

// fdinfoID returns the ID on the line starting with key ("map_id:",
// "prog_id:") of a BPF object's fdinfo.
func fdinfoID(path, key string) (uint32, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for l := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(l, key); ok {
			id, err := strconv.ParseUint(strings.TrimSpace(rest), 10, 32)
			return uint32(id), err == nil
		}
	}
	return 0, false
}

func readDropsMap(id ebpf.MapID) (uint64, bool, error) {
	m, err := ebpf.NewMapFromID(id)
	if err != nil {
		return 0, false, nil // gone or not ours to open; keep looking
	}
	defer m.Close()
	info, err := m.Info()
	if err != nil || info.Name != "drops" || m.Type() != ebpf.PerCPUArray {
		return 0, false, nil
	}
	var per []uint64
	if err := m.Lookup(uint32(0), &per); err != nil {
		return 0, true, fmt.Errorf("reading the drops map: %w", err)
	}
	var sum uint64
	for _, v := range per {
		sum += v
	}
	return sum, true, nil
}

// bpfProgStats returns the run statistics of the BPF programs the process
// holds open, by program name. Runs and Time stay zero unless statistics
// are enabled (-bpf-stats); tail-called programs count in their caller.
func bpfProgStats(pid int) (map[string]progStat, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	stats := map[string]progStat{}
	for _, e := range ents {
		if l, _ := os.Readlink(dir + "/" + e.Name()); l != "anon_inode:bpf-prog" {
			continue
		}
		id, ok := fdinfoID(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, e.Name()), "prog_id:")
		if !ok {
			continue
		}
		p, err := ebpf.NewProgramFromID(ebpf.ProgramID(id))
		if err != nil {
			continue
		}
		info, err1 := p.Info()
		st, err2 := p.Stats()
		p.Close()
		if err1 != nil || err2 != nil {
			continue
		}
		s := stats[info.Name]
		s.Runs += st.RunCount
		s.Time += st.Runtime
		s.Misses += st.RecursionMisses
		stats[info.Name] = s
	}
	return stats, nil
}

// diffProgStats returns b − a per program.
func diffProgStats(a, b map[string]progStat) map[string]progStat {
	d := map[string]progStat{}
	for name, s := range b {
		p := a[name]
		d[name] = progStat{Runs: s.Runs - p.Runs, Time: s.Time - p.Time, Misses: s.Misses - p.Misses}
	}
	return d
}
