/*
 * The native floor under one agent snapshot: the same /proc files the agent reads
 * (agent/src/sources.ts), kept open and re-read from offset 0 with pread into reused 16 KiB buffers
 * as ProcFile does, plus statfs(2) of the mounts the filesystem collector keeps. No parsing and no
 * allocation per iteration, so the times below are what the kernel charges and nothing a runtime adds.
 *
 *   gcc -O2 -Wall -Wextra -o proc-read-floor bench/floor/proc-read-floor.c
 *   proc-read-floor [--procfs DIR] [--rootfs DIR] [--iterations N] [--hz N]
 *
 * Prints one JSON object: medians and p99s (µs) of a whole snapshot (a) read only, (b) read and
 * strtoull over every number, and the median of each file's read alone. bench/agent-floor.ts runs it.
 *
 * With --hz it is instead the smallest possible native agent: N ticks a second on an absolute
 * clock_nanosleep, each reading and scanning the seven per-tick families and, every 10 s as the
 * agent's default schedule has it, the mount table and statfs too. It prints the per-tick times (caches
 * as cold as a real agent's, not a hot loop's) after `--iterations` ticks; its CPU use, measured from
 * outside, is the floor of a 10 Hz agent's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

/* ProcFile's initial size; pressure files get 1 KiB there, which their content always fits. */
#define INITIAL_BUF (16 * 1024)
#define MAX_FILES 16
#define MAX_MOUNTS 256

struct proc_file {
    char name[64];
    char path[PATH_MAX];
    int fd;
    char *buf; /* cap + 1 bytes, so that strtoull always meets a NUL at the end */
    size_t cap;
    size_t len;
};

struct mount_target {
    char path[PATH_MAX];
};

static struct proc_file files[MAX_FILES];
static size_t n_files;
static struct mount_target mounts[MAX_MOUNTS];
static size_t n_mounts;
static int have_pressure;
static int mounts_fell_back;

/* Written to from every loop and printed at the end, so that -O2 cannot drop the work it sums. */
static volatile uint64_t sink;

static void die(const char *what, const char *path)
{
    fprintf(stderr, "proc-read-floor: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* One pread from offset 0, growing and starting over when the buffer came back full (ProcFile.read). */
static int read_whole(struct proc_file *f)
{
    for (;;) {
        ssize_t n = pread(f->fd, f->buf, f->cap, 0);
        if (n < 0)
            return -1;
        if ((size_t)n < f->cap) {
            f->len = (size_t)n;
            f->buf[n] = '\0';
            return 0;
        }
        f->cap *= 2;
        f->buf = realloc(f->buf, f->cap + 1);
        if (f->buf == NULL)
            die("cannot grow the buffer of", f->path);
    }
}

static int open_file(struct proc_file *f, const char *procfs, const char *rel, size_t cap)
{
    snprintf(f->name, sizeof f->name, "%s", rel);
    snprintf(f->path, sizeof f->path, "%s/%s", procfs, rel);
    f->cap = cap;
    f->buf = malloc(cap + 1);
    if (f->buf == NULL)
        die("cannot allocate a buffer for", f->path);
    f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0)
        return -1;
    return read_whole(f);
}

static void close_file(struct proc_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    free(f->buf);
    f->fd = -1;
    f->buf = NULL;
}

/* The cases in which the agent treats a family as absent rather than failed (sources.ts isUnsupported). */
static int is_absent(int err)
{
    return err == ENOENT || err == ENOTSUP || err == EOPNOTSUPP;
}

/* The kernel's four octal escapes in mount paths (fs/proc_namespace.c), decoded in place. */
static void unescape_mount_path(char *s)
{
    char *out = s;
    for (char *in = s; *in != '\0';) {
        if (in[0] == '\\' && (!strncmp(in + 1, "011", 3) || !strncmp(in + 1, "012", 3) ||
                              !strncmp(in + 1, "040", 3) || !strncmp(in + 1, "134", 3))) {
            *out++ = (char)strtol((char[]){in[1], in[2], in[3], '\0'}, NULL, 8);
            in += 4;
        } else {
            *out++ = *in++;
        }
    }
    *out = '\0';
}

/*
 * The mounts statFilesystems keeps, with its default filters (DEFAULT_MOUNT_POINTS_EXCLUDE and
 * DEFAULT_FS_TYPES_EXCLUDE in agent/src/collectors/filesystem.ts) and its de-duplication. Done once:
 * the snapshot loop re-reads the mount table like the agent, but the filtering is parsing, not reading.
 */
static void select_mounts(const char *table, const char *rootfs)
{
    regex_t mount_exclude, type_exclude;
    if (regcomp(&mount_exclude,
                "^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)",
                REG_EXTENDED | REG_NOSUB) != 0 ||
        regcomp(&type_exclude,
                "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|"
                "iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|"
                "squashfs|sysfs|tracefs)$",
                REG_EXTENDED | REG_NOSUB) != 0) {
        fprintf(stderr, "proc-read-floor: the filesystem filters do not compile\n");
        exit(1);
    }
    static char seen[MAX_MOUNTS][3 * PATH_MAX];
    char *copy = strdup(table);
    size_t root_len = strlen(rootfs);
    while (root_len > 0 && rootfs[root_len - 1] == '/')
        root_len--;
    char *save_line = NULL;
    for (char *line = strtok_r(copy, "\n", &save_line); line != NULL;
         line = strtok_r(NULL, "\n", &save_line)) {
        char *save_tok = NULL;
        char *device = strtok_r(line, " \t", &save_tok);
        char *mountpoint = strtok_r(NULL, " \t", &save_tok);
        char *fstype = strtok_r(NULL, " \t", &save_tok);
        if (device == NULL || mountpoint == NULL || fstype == NULL || n_mounts == MAX_MOUNTS)
            continue;
        unescape_mount_path(mountpoint);
        /* node_exporter's rootfsStripPrefix, only at a path boundary, as stripRoot does. */
        const char *shown = mountpoint;
        if (root_len > 0) {
            if (strlen(mountpoint) == root_len && !strncmp(mountpoint, rootfs, root_len))
                shown = "/";
            else if (!strncmp(mountpoint, rootfs, root_len) && mountpoint[root_len] == '/')
                shown = mountpoint + root_len;
        }
        if (regexec(&mount_exclude, shown, 0, NULL, 0) == 0 || regexec(&type_exclude, fstype, 0, NULL, 0) == 0)
            continue;
        char key[sizeof seen[0]];
        snprintf(key, sizeof key, "%s%c%s%c%s", device, 1, shown, 1, fstype);
        int dup = 0;
        for (size_t i = 0; i < n_mounts && !dup; i++)
            dup = !strcmp(seen[i], key);
        if (dup)
            continue;
        memcpy(seen[n_mounts], key, sizeof key);
        if (root_len == 0)
            snprintf(mounts[n_mounts].path, PATH_MAX, "%s", shown);
        else if (!strcmp(shown, "/"))
            snprintf(mounts[n_mounts].path, PATH_MAX, "%.*s", (int)root_len, rootfs);
        else
            snprintf(mounts[n_mounts].path, PATH_MAX, "%.*s%s", (int)root_len, rootfs, shown);
        n_mounts++;
    }
    free(copy);
    regfree(&mount_exclude);
    regfree(&type_exclude);
}

static void open_all(const char *procfs, const char *rootfs)
{
    static const char *const plain[] = {"stat", "meminfo", "net/dev", "diskstats", "loadavg", "vmstat"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        if (open_file(&files[n_files], procfs, plain[i], INITIAL_BUF) != 0)
            die("cannot read", files[n_files].path);
        n_files++;
    }
    /* A kernel without PSI, or with psi=0, has no pressure family at all, as in pressureSource. */
    static const char *const psi[] = {"pressure/cpu", "pressure/memory", "pressure/io"};
    size_t first_psi = n_files;
    have_pressure = 1;
    for (size_t i = 0; i < 3 && have_pressure; i++) {
        if (open_file(&files[n_files], procfs, psi[i], 1024) == 0) {
            n_files++;
        } else if (is_absent(errno)) {
            have_pressure = 0;
        } else {
            die("cannot read", files[n_files].path);
        }
    }
    if (!have_pressure) {
        while (n_files > first_psi)
            close_file(&files[--n_files]);
        close_file(&files[n_files]);
    }
    /* PID 1's mount table, falling back to our own when it is hidden (filesystemSource). */
    if (open_file(&files[n_files], procfs, "1/mounts", INITIAL_BUF) != 0) {
        if (!is_absent(errno))
            die("cannot read", files[n_files].path);
        close_file(&files[n_files]);
        if (open_file(&files[n_files], procfs, "mounts", INITIAL_BUF) != 0)
            die("cannot read", files[n_files].path);
        mounts_fell_back = 1;
    }
    select_mounts(files[n_files].buf, rootfs);
    n_files++;
}

static uint64_t scan_numbers(const char *p, size_t len)
{
    const char *end = p + len;
    uint64_t sum = 0;
    while (p < end) {
        if (*p >= '0' && *p <= '9') {
            char *next;
            sum += strtoull(p, &next, 10);
            p = next;
        } else {
            p++;
        }
    }
    return sum;
}

/*
 * One snapshot; the agent logs and counts a failing read and goes on, a floor must not hide one.
 * Without with_fs the mount table (always the last file) and statfs are left out, as on most ticks.
 */
static uint64_t snapshot(int scan, int with_fs)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < (with_fs ? n_files : n_files - 1); i++) {
        if (read_whole(&files[i]) != 0)
            die("cannot read", files[i].path);
        sum += scan ? scan_numbers(files[i].buf, files[i].len) : files[i].len;
    }
    for (size_t i = 0; with_fs && i < n_mounts; i++) {
        struct statfs s;
        if (statfs(mounts[i].path, &s) != 0)
            die("cannot statfs", mounts[i].path);
        sum += scan ? (uint64_t)s.f_bsize + s.f_blocks + s.f_bfree + s.f_bavail + s.f_files + s.f_ffree
                    : (uint64_t)s.f_bfree;
    }
    return sum;
}

static int paced(const char *procfs, long hz, size_t ticks);

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *samples, size_t n, double q)
{
    qsort(samples, n, sizeof *samples, by_value);
    return samples[(size_t)((double)n * q)];
}

/* Paths go into JSON verbatim; /proc and mount paths with quotes or backslashes are not worth escaping for. */
static void print_string_array(const char *key, const char *const *items, size_t n)
{
    printf("  \"%s\": [", key);
    for (size_t i = 0; i < n; i++)
        printf("%s\"%s\"", i ? ", " : "", items[i]);
    printf("],\n");
}

int main(int argc, char **argv)
{
    const char *procfs = "/proc";
    const char *rootfs = "";
    long iterations = 20000;
    long hz = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--procfs") && i + 1 < argc)
            procfs = argv[++i];
        else if (!strcmp(argv[i], "--rootfs") && i + 1 < argc)
            rootfs = argv[++i];
        else if (!strcmp(argv[i], "--iterations") && i + 1 < argc)
            iterations = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--hz") && i + 1 < argc)
            hz = strtol(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [--procfs DIR] [--rootfs DIR] [--iterations N] [--hz N]\n", argv[0]);
            return 2;
        }
    }
    if (iterations < 100 || hz < 0 || hz > 1000) {
        fprintf(stderr, "proc-read-floor: --iterations must be at least 100, --hz from 1 to 1000\n");
        return 2;
    }
    open_all(procfs, rootfs);
    if (hz > 0)
        return paced(procfs, hz, (size_t)iterations);

    size_t n = (size_t)iterations;
    double *read_only = malloc(n * sizeof(double));
    double *read_scan = malloc(n * sizeof(double));
    double *one = malloc(n * sizeof(double));
    if (read_only == NULL || read_scan == NULL || one == NULL) {
        fprintf(stderr, "proc-read-floor: out of memory\n");
        return 1;
    }
    for (long i = 0; i < 1000; i++)
        sink += snapshot(i & 1, 1);
    /* Interleaved, so that the other load on the machine falls on (a) and (b) alike. */
    for (size_t i = 0; i < n; i++) {
        double t0 = now_us();
        sink += snapshot(0, 1);
        double t1 = now_us();
        sink += snapshot(1, 1);
        double t2 = now_us();
        read_only[i] = t1 - t0;
        read_scan[i] = t2 - t1;
    }
    double read_median = percentile(read_only, n, 0.5), read_p99 = percentile(read_only, n, 0.99);
    double scan_median = percentile(read_scan, n, 0.5), scan_p99 = percentile(read_scan, n, 0.99);

    /* Each input alone, to show where the snapshot's floor goes; a quarter of the iterations is enough. */
    size_t each = n / 4;
    printf("{\n  \"procfs\": \"%s\",\n  \"rootfs\": \"%s\",\n  \"iterations\": %zu,\n", procfs, rootfs, n);
    printf("  \"pressure\": %s,\n  \"mountsFellBack\": %s,\n", have_pressure ? "true" : "false",
           mounts_fell_back ? "true" : "false");
    const char *paths[MAX_FILES], *statfs_paths[MAX_MOUNTS];
    for (size_t i = 0; i < n_files; i++)
        paths[i] = files[i].path;
    for (size_t i = 0; i < n_mounts; i++)
        statfs_paths[i] = mounts[i].path;
    print_string_array("files", paths, n_files);
    print_string_array("statfs", statfs_paths, n_mounts);
    printf("  \"read\": { \"medianUs\": %.2f, \"p99Us\": %.2f },\n", read_median, read_p99);
    printf("  \"readScan\": { \"medianUs\": %.2f, \"p99Us\": %.2f },\n", scan_median, scan_p99);
    printf("  \"perInput\": [\n");
    for (size_t f = 0; f < n_files + n_mounts; f++) {
        for (size_t i = 0; i < each; i++) {
            double t0 = now_us();
            if (f < n_files) {
                if (read_whole(&files[f]) != 0)
                    die("cannot read", files[f].path);
                sink += files[f].len;
            } else {
                struct statfs s;
                if (statfs(mounts[f - n_files].path, &s) != 0)
                    die("cannot statfs", mounts[f - n_files].path);
                sink += (uint64_t)s.f_bfree;
            }
            one[i] = now_us() - t0;
        }
        int is_file = f < n_files;
        printf("    { \"input\": \"%s%s\", \"bytes\": %zu, \"medianUs\": %.2f }%s\n", is_file ? "" : "statfs ",
               is_file ? files[f].name : mounts[f - n_files].path, is_file ? files[f].len : (size_t)0,
               percentile(one, each, 0.5), f + 1 < n_files + n_mounts ? "," : "");
    }
    printf("  ],\n  \"checksum\": %llu\n}\n", (unsigned long long)sink);

    for (size_t i = 0; i < n_files; i++)
        close_file(&files[i]);
    free(read_only);
    free(read_scan);
    free(one);
    return 0;
}

static int paced(const char *procfs, long hz, size_t ticks)
{
    double *times = malloc(ticks * sizeof(double));
    if (times == NULL) {
        fprintf(stderr, "proc-read-floor: out of memory\n");
        return 1;
    }
    long period_ns = 1000000000L / hz;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (size_t i = 0; i < ticks; i++) {
        next.tv_nsec += period_ns;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
        double t0 = now_us();
        sink += snapshot(1, i % (size_t)(10 * hz) == 0);
        times[i] = now_us() - t0;
    }
    printf("{\n  \"procfs\": \"%s\",\n  \"hz\": %ld,\n  \"ticks\": %zu,\n", procfs, hz, ticks);
    printf("  \"readScan\": { \"medianUs\": %.2f, \"p99Us\": %.2f },\n", percentile(times, ticks, 0.5),
           percentile(times, ticks, 0.99));
    printf("  \"checksum\": %llu\n}\n", (unsigned long long)sink);
    free(times);
    return 0;
}
