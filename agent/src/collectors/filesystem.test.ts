import { execFileSync } from 'node:child_process'
import { readFileSync, statfsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { readFixture } from './__fixtures__/fixtures.ts'
import { parseMounts, statFilesystems, type MountEntry, type StatfsResult } from './filesystem.ts'

function parse(text: string): { mounts: MountEntry[]; problems: string[] } {
  const problems: string[] = []
  const mounts = parseMounts(text, (p) => problems.push(p))
  return { mounts, problems }
}

const VDA: StatfsResult = {
  bsize: 4096,
  blocks: 66053021,
  bfree: 62492319,
  bavail: 20314614,
  files: 16777216,
  ffree: 16341327,
}

/** A fake statfs(2) answering for the given paths and failing for the rest, like the kernel's ENOENT. */
function fakeStatfs(
  known: Record<string, StatfsResult>,
  calls: string[] = [],
): (path: string) => StatfsResult {
  return (path) => {
    calls.push(path)
    const result = known[path]
    if (result === undefined) throw new Error(`ENOENT: no such file or directory, statfs '${path}'`)
    return result
  }
}

/** Mount lines as a systemd host with Docker prints them (Debian 12, kernel 6.1). */
const HOST_MOUNTS = [
  'sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0',
  'proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0',
  'udev /dev devtmpfs rw,nosuid,relatime,size=8131624k,nr_inodes=2032906,mode=755 0 0',
  'tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,size=1631132k,mode=755 0 0',
  '/dev/nvme0n1p2 / ext4 rw,relatime,errors=remount-ro 0 0',
  'cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0',
  'bpf /sys/fs/bpf bpf rw,nosuid,nodev,noexec,relatime,mode=700 0 0',
  'systemd-1 /proc/sys/fs/binfmt_misc autofs rw,relatime,fd=30,pgrp=1,timeout=0 0 0',
  'ramfs /run/credentials/systemd-sysctl.service ramfs ro,nosuid,nodev,noexec,relatime,mode=700 0 0',
  '/dev/nvme0n1p1 /boot/efi vfat rw,relatime,fmask=0077,dmask=0077 0 0',
  '/dev/loop0 /snap/core/1 squashfs ro,nodev,relatime 0 0',
  '/dev/sdb1 /srv/My\\040Photos ext4 ro,relatime 0 0',
  'overlay /var/lib/docker/overlay2/abc/merged overlay rw,relatime 0 0',
  'nsfs /run/docker/netns/1a2b nsfs rw 0 0',
  '/dev/nvme0n1p2 /var/lib/docker ext4 rw,relatime 0 0',
  'server:/export /srv/nfs nfs4 rw,relatime,vers=4.2 0 0',
  '/dev/sdb1 /srv/My\\040Photos ext4 ro,relatime 0 0',
  '/dev/sdc1 /media/usb vfat rw 0 0',
  'tmpfs /mnt/scratch tmpfs rw 0 0',
].join('\n')

describe('parseMounts', () => {
  it('reads the live VM’s mount table in file order', () => {
    const { mounts, problems } = parse(readFixture('live-t0/proc/mounts'))
    expect(problems).toEqual([])
    expect(mounts).toHaveLength(19)
    expect(mounts[5]).toEqual({
      device: '/dev/vda',
      mountpoint: '/',
      fstype: 'ext4',
      options: 'rw,relatime,discard,resv_strict,resuid=65534,resgid=65534',
    })
  })

  it('decodes the kernel’s octal escapes in mount points (space, tab, newline, backslash)', () => {
    const { mounts } = parse('/dev/sdb1 /mnt/a\\040b\\011c\\012d\\134e ext4 rw 0 0\n')
    expect(mounts[0]?.mountpoint).toBe('/mnt/a b\tc\nd\\e')
  })

  it('skips and reports a line of fewer than four fields', () => {
    const { mounts, problems } = parse('/dev/vda / ext4\n/dev/vda / ext4 rw 0 0\n')
    expect(mounts).toHaveLength(1)
    expect(problems).toEqual(['mounts: unreadable line "/dev/vda / ext4"'])
    expect(parse('').problems).toEqual(['mounts: no mount points'])
  })
})

describe('statFilesystems', () => {
  it('keeps only what node_exporter 1.5’s default excludes (as Debian ships them) let through, each once', () => {
    const calls: string[] = []
    const sample = statFilesystems(parse(HOST_MOUNTS).mounts, {
      statfs: fakeStatfs({ '/': VDA, '/boot/efi': VDA, '/run': VDA, '/srv/My Photos': VDA }, calls),
    })
    // /run, /mnt and /media are left out by Debian's default, as are the pseudo filesystems.
    expect(sample.filesystems.map((f) => [f.device, f.mountpoint, f.fstype])).toEqual([
      ['/dev/nvme0n1p2', '/', 'ext4'],
      ['/dev/nvme0n1p1', '/boot/efi', 'vfat'],
      ['/dev/sdb1', '/srv/My Photos', 'ext4'],
      // /var/lib/docker itself is kept: only what is below it is excluded.
      ['/dev/nvme0n1p2', '/var/lib/docker', 'ext4'],
      ['server:/export', '/srv/nfs', 'nfs4'],
    ])
    expect(calls).toEqual(['/', '/boot/efi', '/srv/My Photos', '/var/lib/docker', '/srv/nfs'])
  })

  it('keeps statfs in the kernel’s units and takes read-only from the ro mount option', () => {
    const sample = statFilesystems(parse(HOST_MOUNTS).mounts, {
      statfs: fakeStatfs({ '/': VDA, '/srv/My Photos': { ...VDA, bsize: 1024 } }),
    })
    const root = sample.filesystems.find((f) => f.mountpoint === '/')
    expect(root).toEqual({
      device: '/dev/nvme0n1p2',
      mountpoint: '/',
      fstype: 'ext4',
      // errors=remount-ro is not ro.
      readonly: false,
      error: null,
      statfs: {
        block_size: 4096,
        blocks: 66053021,
        blocks_free: 62492319,
        blocks_avail: 20314614,
        files: 16777216,
        files_free: 16341327,
      },
    })
    const photos = sample.filesystems.find((f) => f.mountpoint === '/srv/My Photos')
    expect(photos?.readonly).toBe(true)
    expect(photos?.statfs?.block_size).toBe(1024)
  })

  it('keeps a filesystem statfs fails on, with the error and no counters', () => {
    const sample = statFilesystems(parse(HOST_MOUNTS).mounts, { statfs: fakeStatfs({}) })
    const nfs = sample.filesystems.find((f) => f.mountpoint === '/srv/nfs')
    expect(nfs?.statfs).toBeNull()
    expect(nfs?.error).toBe("ENOENT: no such file or directory, statfs '/srv/nfs'")
  })

  it('statfs’es below a root prefix and reports mount points without it', () => {
    const mounts = parse(
      [
        'overlay / overlay rw,relatime 0 0',
        'proc /proc proc rw 0 0',
        '/dev/vda /host ext4 rw,relatime 0 0',
        '/dev/vdb /host/data xfs rw,relatime 0 0',
        '/dev/vdc /hostdata xfs rw,relatime 0 0',
        'proc /host/proc proc rw 0 0',
      ].join('\n'),
    ).mounts
    const calls: string[] = []
    const all = { '/host': VDA, '/host/data': VDA, '/host/hostdata': VDA }
    for (const root of ['/host', '/host/']) {
      calls.length = 0
      const sample = statFilesystems(mounts, { root, statfs: fakeStatfs(all, calls) })
      expect(sample.filesystems.map((f) => f.mountpoint)).toEqual(['/', '/data', '/hostdata'])
      expect(calls).toEqual(['/host', '/host/data', '/host/hostdata'])
    }
  })

  it('lets every mount through when both filters are switched off', () => {
    const mounts = parse(readFixture('live-t0/proc/mounts')).mounts
    const sample = statFilesystems(mounts, {
      mountPointsExclude: null,
      fsTypesExclude: null,
      statfs: fakeStatfs({}),
    })
    // 19 lines, two of them exact repeats (devpts on /dev/pts, tmpfs on /dev/shm).
    expect(sample.filesystems).toHaveLength(17)
  })

  it('finds / on this machine with the size df reports', () => {
    const mounts = parse(readFileSync('/proc/mounts', 'utf8')).mounts
    const root = statFilesystems(mounts).filesystems.find((f) => f.mountpoint === '/')
    expect(root?.error).toBeNull()
    const s = root?.statfs
    expect(s?.blocks).toBeGreaterThan(0)
    const df = execFileSync('df', ['-B1', '--output=size', '/'], { encoding: 'utf8' }).trim().split('\n')[1]
    expect((s?.blocks ?? 0) * (s?.block_size ?? 0)).toBe(Number(df))
    expect(s?.files).toBe(statfsSync('/').files)
  })
})
