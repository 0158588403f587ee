/* The smallest real-toolchain program: glibc start-up, stdio, exit. */
#include <stdio.h>

int main(void)
{
    printf("hello, world\n");
    return 0;
}
