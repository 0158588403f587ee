/*
 * Reads standard input (the console, in canonical mode) up to a line "END"
 * and prints how many bytes came before it and their FNV-1a checksum, for
 * the system test that pastes large inputs: every byte typed must arrive.
 *
 * usage: t_paste      prints "paste: bytes=<n> fnv=<16 hex digits>"
 */
#include "common.h"

int main(void)
{
    uint64_t hash = 0xcbf29ce484222325ull, bytes = 0;
    char line[8192];
    size_t len = 0;
    for (;;) {
        char c;
        ssize_t n = read(0, &c, 1);
        if (n <= 0)
            break;
        if (len < sizeof line)
            line[len] = c;
        len++;
        if (c != '\n')
            continue;
        if (len == 4 && memcmp(line, "END\n", 4) == 0)
            break;
        for (size_t i = 0; i < len && i < sizeof line; i++) {
            hash = (hash ^ (unsigned char)line[i]) * 0x100000001b3ull;
        }
        bytes += len;
        len = 0;
    }
    printf("paste: bytes=%llu fnv=%016llx\n", (unsigned long long)bytes, (unsigned long long)hash);
    return 0;
}
