/* What a cache hit is measured against: a static C program that does the least a hit must do,
 * reading the cache entry file and writing it to stdout. bench/run.sh builds it twice: with
 * `gcc -static` (glibc, Debian's C toolchain; the issue-10 target, hit <= 1.05x it) and, when
 * musl-gcc is installed, with `musl-gcc -static` (the floor: reported, not a target).
 *
 *   cat-entry FILE
 */
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv) {
    static char buffer[65536];
    if (argc != 2) return 2;
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1;
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) return 1;
    return write(1, buffer, (size_t)n) == n ? 0 : 1;
}
