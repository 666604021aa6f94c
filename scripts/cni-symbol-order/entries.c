// Runs a program with a breakpoint on the entry of every function named in FUNCS (hex
// addresses, one a line) and appends to OUT, in the order they are first entered, the
// address of each function the program enters. Children it forks are followed until
// they exec (a child of posix_spawn shares the parent's memory and its breakpoints).
// Exits with the program's status.
//
//   entries FUNCS OUT program [args...]
//
// Used by ./generate to find the functions a CNI call runs, for the linker's
// --symbol-ordering-file. One trap per function, so a call takes milliseconds.
#define _GNU_SOURCE
#if !defined(__x86_64__)
#error "entries.c reads rip and writes int3 (0xcc): x86-64 only"
#endif
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: entries FUNCS OUT program [args...]\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "r");
    if (!in) { perror(argv[1]); return 2; }
    FILE *out = fopen(argv[2], "a");
    if (!out) { perror(argv[2]); return 2; }

    size_t count = 0, capacity = 1 << 16;
    uint64_t *address = malloc(capacity * sizeof *address);
    unsigned long long value;
    while (fscanf(in, "%llx", &value) == 1) {
        if (count == capacity) address = realloc(address, (capacity *= 2) * sizeof *address);
        address[count++] = value;
    }
    qsort(address, count, sizeof *address, compare);
    size_t unique = 0;
    for (size_t i = 0; i < count; i++)
        if (unique == 0 || address[i] != address[unique - 1]) address[unique++] = address[i];
    count = unique;
    unsigned char *original = calloc(count, 1), *recorded = calloc(count, 1);

    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 2; }
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        execv(argv[3], argv + 3);
        perror(argv[3]);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFSTOPPED(status)) { fprintf(stderr, "entries: %s did not start\n", argv[3]); return 2; }
    // One read-modify-write of a word per breakpoint, so a word holding several entries
    // keeps the int3s already written in it; the original byte is the word's first.
    for (size_t i = 0; i < count; i++) {
        errno = 0;
        long word = ptrace(PTRACE_PEEKTEXT, pid, address[i], 0);
        if (errno) { fprintf(stderr, "entries: cannot read %llx\n", (unsigned long long)address[i]); return 2; }
        original[i] = word & 0xff;
        if (ptrace(PTRACE_POKETEXT, pid, address[i], (word & ~0xffL) | 0xcc) < 0) { perror("entries: poke"); return 2; }
    }
    // EXITKILL: a tracer that dies leaves no program running with int3s in it.
    if (ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
                                           PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL) < 0) {
        perror("entries: options");
        return 2;
    }
    ptrace(PTRACE_CONT, pid, 0, 0);

    long entered = 0;
    int result = 0;
    for (;;) {
        pid_t who = waitpid(-1, &status, __WALL);
        if (who < 0) {
            if (errno == ECHILD) break;
            perror("entries: waitpid");
            return 2;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (who == pid) result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            continue;
        }
        int signal = WSTOPSIG(status), event = status >> 16;
        if (event == PTRACE_EVENT_EXEC && who != pid) { ptrace(PTRACE_DETACH, who, 0, 0); continue; }
        if (event || signal == SIGSTOP) { ptrace(PTRACE_CONT, who, 0, 0); continue; }
        if (signal != SIGTRAP) { ptrace(PTRACE_CONT, who, 0, signal); continue; }
        struct user_regs_struct registers;
        if (ptrace(PTRACE_GETREGS, who, 0, &registers) < 0) { perror("entries: registers"); return 2; }
        uint64_t at = registers.rip - 1;
        uint64_t *found = bsearch(&at, address, count, sizeof *address, compare);
        if (!found) { ptrace(PTRACE_CONT, who, 0, SIGTRAP); continue; }
        size_t i = found - address;
        long word = ptrace(PTRACE_PEEKTEXT, who, at, 0);
        ptrace(PTRACE_POKETEXT, who, at, (word & ~0xffL) | original[i]);
        registers.rip = at;
        ptrace(PTRACE_SETREGS, who, 0, &registers);
        if (!recorded[i]) {
            recorded[i] = 1;
            entered++;
            fprintf(out, "%llx\n", (unsigned long long)at);
        }
        ptrace(PTRACE_CONT, who, 0, 0);
    }
    fclose(out);
    fprintf(stderr, "entries: %zu functions, %ld entered\n", count, entered);
    return result;
}
