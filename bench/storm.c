/* Start N copies of a command at once, as k9s or Lens start credential plugins, and report how
 * long it took until every one had exited. bench/run.sh uses it for storms of cold and warm
 * processes, and for outages; fork and exec from C, so the launcher itself costs microseconds,
 * not the milliseconds a shell loop would add per process.
 *
 *   storm N OUTDIR COMMAND [ARGS...]
 *
 * Child i writes its stdout to OUTDIR/out.i and its stderr to OUTDIR/err.i. Prints one line:
 * `elapsed_ms=<wall time from the first fork to the last exit> failures=<non-zero exits>`.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: storm N OUTDIR COMMAND [ARGS...]\n");
        return 2;
    }
    int n = atoi(argv[1]);
    const char *dir = argv[2];
    double start = now_ms();
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 2;
        }
        if (pid == 0) {
            char path[4096];
            snprintf(path, sizeof path, "%s/out.%d", dir, i);
            int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            snprintf(path, sizeof path, "%s/err.%d", dir, i);
            int err = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(126);
            execv(argv[3], argv + 3);
            _exit(127);
        }
    }
    int failures = 0, status;
    while (wait(&status) > 0) {
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failures++;
    }
    printf("elapsed_ms=%.3f failures=%d\n", now_ms() - start, failures);
    return 0;
}
