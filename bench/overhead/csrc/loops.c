// loops: the syscall-loop workloads of the overhead harness (bench/overhead).
//
//   loops open N FILE   N times: open FILE read-only, read up to 4 KiB, close
//   loops exec N PROG   N times: fork, exec PROG (no arguments), wait
//   loops connect N     N times on 127.0.0.1: connect to a listener, accept,
//                       close both ends (the client with SO_LINGER 0, so no
//                       TIME_WAIT sockets pile up across runs)
//
// Exits non-zero on the first failure, naming it on stderr.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what, long i) {
	fprintf(stderr, "loops: %s (iteration %ld): %s\n", what, i, strerror(errno));
	exit(1);
}

static void loop_open(long n, const char *path) {
	char buf[4096];
	for (long i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("open", i);
		if (read(fd, buf, sizeof buf) < 0)
			die("read", i);
		if (close(fd) < 0)
			die("close", i);
	}
}

static void loop_exec(long n, const char *prog) {
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork", i);
		if (pid == 0) {
			execl(prog, prog, (char *)NULL);
			_exit(127);
		}
		int status;
		if (waitpid(pid, &status, 0) < 0)
			die("waitpid", i);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			errno = 0;
			die("child failed", i);
		}
	}
}

static void loop_connect(long n) {
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0)
		die("socket", -1);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof addr;
	if (bind(ls, (struct sockaddr *)&addr, len) < 0)
		die("bind", -1);
	if (listen(ls, 64) < 0)
		die("listen", -1);
	if (getsockname(ls, (struct sockaddr *)&addr, &len) < 0)
		die("getsockname", -1);
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	for (long i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c < 0)
			die("socket", i);
		if (connect(c, (struct sockaddr *)&addr, sizeof addr) < 0)
			die("connect", i);
		int a = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (a < 0)
			die("accept", i);
		if (setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0)
			die("setsockopt", i);
		if (close(c) < 0)
			die("close client", i);
		if (close(a) < 0)
			die("close server", i);
	}
	close(ls);
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: loops open|exec|connect N [FILE|PROG]\n");
		return 2;
	}
	long n = atol(argv[2]);
	if (strcmp(argv[1], "open") == 0 && argc == 4)
		loop_open(n, argv[3]);
	else if (strcmp(argv[1], "exec") == 0 && argc == 4)
		loop_exec(n, argv[3]);
	else if (strcmp(argv[1], "connect") == 0)
		loop_connect(n);
	else {
		fprintf(stderr, "loops: bad arguments\n");
		return 2;
	}
	return 0;
}
