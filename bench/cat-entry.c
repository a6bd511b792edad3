/* The floor a cache hit is measured against: a static C program that does the least a hit must
 * do, reading the cache entry file and writing it to stdout. bench/run.sh builds it with the
 * same libc as the plugin (musl-gcc -static when the plugin is a musl build, else gcc -static).
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
