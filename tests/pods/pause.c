// SPDX-License-Identifier: Apache-2.0
// pause - the sandbox ("pause") container of the pods-mode test cluster:
// holds a pod's namespaces open and does nothing until SIGTERM or SIGINT.
// As PID 1 of the pod it also reaps any children handed to it. Built static
// by tests/cluster/pods-up, its own root filesystem.
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_child(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(void)
{
	struct sigaction sa = { 0 };

	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	while (!stop)
		pause();
	fprintf(stderr, "pause: stopping\n");
	return 0;
}
