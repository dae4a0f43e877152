package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// workload is one measured activity. run performs it once and returns its
// timing; prepare (optional) runs once before the first round. targets
// are the ratio targets by configuration.
type workload struct {
	name, desc, unit string
	iterations       int
	targets          map[string]float64
	prepare          func(ctx context.Context, b *bench) error
	run              func(ctx context.Context, b *bench) (runSample, error)
}

// workloads returns the workloads with the iteration counts from the flags.
func (b *bench) workloads() []workload {
	loops := func(mode string, n int, arg ...string) func(context.Context, *bench) (runSample, error) {
		return func(ctx context.Context, b *bench) (runSample, error) {
			return b.timed(ctx, "", append([]string{b.path("loops"), mode, strconv.Itoa(n)}, arg...))
		}
	}
	return []workload{
		{
			name: "open", unit: "opens", iterations: b.iters.open,
			targets: map[string]float64{"ebpf": targetOpenRatio, "fanotify": targetFanotifyOpenRatio},
			desc:    "open(O_RDONLY)/read 4 KiB/close of one 4 KiB scratch file, in C",
			run:     loops("open", b.iters.open, b.path("scratch.dat")),
		},
		{
			name: "exec", unit: "execs", iterations: b.iters.exec,
			desc: "fork + execve(/bin/true) + waitpid, in C",
			run:  loops("exec", b.iters.exec, "/bin/true"),
		},
		{
			name: "connect", unit: "conns", iterations: b.iters.connect,
			desc: "loopback TCP socket/connect/accept4/close (SO_LINGER 0), in C",
			run:  loops("connect", b.iters.connect),
		},
		{
			name: "build", unit: "builds", iterations: b.iters.build,
			targets: map[string]float64{"ebpf": targetBuildRatio},
			desc:    fmt.Sprintf("make -B -j%d of a generated %d-file C program (gcc -O2, link, run it), repeated", b.cpus, projectFiles),
			prepare: func(_ context.Context, b *bench) error {
				return writeProject(b.path("project"))
			},
			run: func(ctx context.Context, b *bench) (runSample, error) {
				var total runSample
				for range b.iters.build {
					s, err := b.timed(ctx, b.path("project"), []string{"make", "-s", "-B", "-j" + strconv.Itoa(b.cpus)})
					if err != nil {
						return total, err
					}
					if total.Wall == 0 {
						total.Load1 = s.Load1
					}
					total.Wall += s.Wall
					total.User += s.User
					total.Sys += s.Sys
					total.OtherVigils = max(total.OtherVigils, s.OtherVigils)
				}
				return total, nil
			},
		},
	}
}

// timed runs argv to completion in dir and measures it.
func (b *bench) timed(ctx context.Context, dir string, argv []string) (runSample, error) {
	argv = b.wrap(argv)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	logf, err := os.Create(b.path("workload.log"))
	if err != nil {
		return runSample{}, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	s := runSample{Load1: load1(), OtherVigils: otherVigils(b.vigilPID)}
	start := time.Now()
	err = cmd.Run()
	s.Wall = time.Since(start)
	if err != nil {
		out, _ := os.ReadFile(b.path("workload.log"))
		return s, fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, tail(string(out), 2000))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.User = time.Duration(ru.Utime.Nano())
		s.Sys = time.Duration(ru.Stime.Nano())
	}
	return s, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// projectFiles is the number of C units in the build workload's project.
const projectFiles = 12

// writeProject writes a small C program (projectFiles units sharing a
// header, each including a handful of libc headers) and a Makefile whose
// default target compiles, links and runs it.
func writeProject(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string]string{
		"common.h": `#include <stddef.h>
#include <stdint.h>
struct table { const char *name; uint64_t (*fn)(uint64_t); };
uint64_t mix(uint64_t x);
`,
	}
	var decls, entries, objs strings.Builder
	for i := range projectFiles {
		files[fmt.Sprintf("unit%02d.c", i)] = fmt.Sprintf(`#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <errno.h>
#include <time.h>
#include "common.h"

struct node%[1]d { struct node%[1]d *next; char key[24]; double weight; };

static struct node%[1]d *push%[1]d(struct node%[1]d *head, uint64_t v) {
	struct node%[1]d *n = calloc(1, sizeof *n);
	if (n == NULL) { perror("calloc"); exit(1); }
	snprintf(n->key, sizeof n->key, "k%%llu", (unsigned long long)v);
	n->weight = sqrt((double)(v %% 1000)) + %[1]d;
	n->next = head;
	return n;
}

uint64_t unit%[1]d(uint64_t seed) {
	struct node%[1]d *head = NULL;
	uint64_t acc = seed;
	for (int i = 0; i < 64; i++) {
		acc = mix(acc + (uint64_t)i * %[1]d);
		head = push%[1]d(head, acc);
	}
	for (struct node%[1]d *n = head; n != NULL;) {
		struct node%[1]d *next = n->next;
		acc ^= strlen(n->key) + (uint64_t)n->weight;
		free(n);
		n = next;
	}
	return acc;
}
`, i)
		fmt.Fprintf(&decls, "uint64_t unit%d(uint64_t);\n", i)
		fmt.Fprintf(&entries, "\t{\"unit%d\", unit%d},\n", i, i)
		fmt.Fprintf(&objs, " unit%02d.o", i)
	}
	files["main.c"] = fmt.Sprintf(`#include <stdio.h>
#include <inttypes.h>
#include "common.h"
%s
uint64_t mix(uint64_t x) { x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; return x; }
static const struct table tab[] = {
%s};
int main(void) {
	FILE *f = fopen("result.txt", "w");
	if (f == NULL) { perror("result.txt"); return 1; }
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		fprintf(f, "%%s %%" PRIu64 "\n", tab[i].name, tab[i].fn(i));
	return fclose(f) != 0;
}
`, decls.String(), entries.String())
	files["Makefile"] = fmt.Sprintf(`CC = gcc
CFLAGS = -O2 -Wall
OBJS = main.o%s

all: result.txt

result.txt: prog
	./prog

prog: $(OBJS)
	$(CC) -o $@ $(OBJS) -lm

%%.o: %%.c common.h
	$(CC) $(CFLAGS) -c -o $@ $<
`, objs.String())
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// load1 returns the one-minute load average.
func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
