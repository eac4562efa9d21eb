"""Differential test of a cowfs mount against a reference directory (tmpfs).

Runs one seeded random sequence of operations on both trees side by side: create, mkdir, write, truncate,
fallocate in every mode, link, rename (and its exchange/no-replace modes), unlink, rmdir, symlink, chmod, utime,
mapped writes, copy_file_range, extended attributes, fsync, and writes, reads, fstat, truncation and fsync through
files held open across steps (unlinked ones included). Each operation must end the same way on both sides (its
result or its errno); after each step every entry of both trees is compared: kind, mode, links, owner, size,
every byte, link targets, user extended attributes, directory listings, and the modification time wherever a
step set it explicitly. Now and then dirty data is synced and the kernel's caches dropped, so that what the
mount answers comes from its server, not the page cache.

usage: mount-differential.py SEED STEPS SECONDS MOUNT_DIR REFERENCE_DIR
Exit 0 with a summary line; exit 1 with the first difference and the steps leading to it.
"""
import ctypes
import errno
import mmap
import os
import random
import sys
import time

SEED, STEPS, SECONDS = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
SIDES = (sys.argv[4], sys.argv[5])  # (mount, reference)
MAX_SIZE = 1 << 20
MAX_ENTRIES = 40  # names are mostly made while the trees have fewer entries than this
cached_entries = None

libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
AT_FDCWD = -100
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE = 0x01, 0x02, 0x10

rnd = random.Random(SEED)
log = []
held = []  # [path when opened, fd on the mount, fd on the reference]
pinned = {}  # reference inode number: the mtime a step set (numbers are reused: it must still match)
step_names = []  # the paths the current step names
step_inodes = set()  # reference-side inode numbers of files the current step reaches through a held descriptor
seen = {}  # reference-side inode number: (size, mtime, ctime) when its bytes were last compared  # reference-side inode numbers whose mtime a step set and nothing changed since
counts = {}

DIRS = ['', 'd0', 'd1', 'd0/d2']
NAMES = ['f0', 'f1', 'f2', 'f3', 'd0', 'd1', 'd2', 'l0']


def fail(message):
    print('DIFFERENCE (seed %d, step %d): %s' % (SEED, len(log), message))
    print('last steps:')
    for line in log[-25:]:
        print('  ' + line)
    sys.exit(1)


def named(p):
    """Notes a path a step names: its file's bytes are compared after the step (every file's at each cache drop)."""
    step_names.append(p)
    return p


def path(kind=None):
    """Mostly an existing entry (of that kind: 'f' a regular file, 'd' a directory), else any name of the pool."""
    if rnd.random() < 0.75:
        existing = reference_entries()
        if kind is not None:
            wanted = 0o100000 if kind == 'f' else 0o040000
            existing = [e for e in existing if os.lstat(os.path.join(SIDES[1], e)).st_mode & 0o170000 == wanted]
        if existing:
            return named(rnd.choice(existing))
    d = rnd.choice(DIRS)
    name = rnd.choice(NAMES)
    return named(name if d == '' else d + '/' + name)


def both(description, action):
    """Runs action(side_root, side_index) on both sides; their results or errnos must match."""
    global cached_entries
    cached_entries = None
    outcomes = []
    for i, root in enumerate(SIDES):
        try:
            outcomes.append(('ok', action(root, i)))
        except OSError as e:
            outcomes.append(('errno', errno.errorcode.get(e.errno, e.errno)))
    log.append(('%s -> %s' % (description, outcomes[1]))[:200])
    if outcomes[0] != outcomes[1]:
        fail('%s: mount %s, reference %s' % (description, outcomes[0], outcomes[1]))
    tally = counts.setdefault(description.split()[0], [0, 0])
    tally[0 if outcomes[1][0] == 'ok' else 1] += 1
    return outcomes[1]


def check(result):
    if result < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return result


def unpin(root, i, p):
    if i == 1:
        try:
            pinned.pop(os.stat(os.path.join(root, p)).st_ino, None)
        except OSError:
            pass


def fresh():
    """A name no entry has yet, in an existing directory (a few tries; else any name of the pool)."""
    if len(reference_entries()) >= MAX_ENTRIES:
        return path()
    for _ in range(5):
        d = path('d') if rnd.random() < 0.7 else ''
        candidate = rnd.choice(NAMES) if d in ('', '.') or not os.path.isdir(os.path.join(SIDES[1], d)) \
            else d + '/' + rnd.choice(NAMES)
        if not os.path.lexists(os.path.join(SIDES[1], candidate)):
            return named(candidate)
    return path()


def names_change(*paths):
    """A step that adds, removes or moves these names changes their directories' times and the entries' own."""
    for p in paths:
        for q in (p, os.path.dirname(p)):
            try:
                pinned.pop(os.lstat(os.path.join(SIDES[1], q)).st_ino, None)
            except OSError:
                pass


def data(n):
    if rnd.random() < 0.3:
        return bytes([rnd.randrange(256)]) * n
    return rnd.randbytes(n)


def op_create(p):
    names_change(p)
    mode = rnd.choice([0o644, 0o600, 0o755, 0o4755, 0o2750])
    def act(root, i):
        fd = os.open(os.path.join(root, p), os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
        os.close(fd)
    both('create %s %o' % (p, mode), act)


def op_mkdir(p):
    names_change(p)
    both('mkdir ' + p, lambda root, i: os.mkdir(os.path.join(root, p), 0o755))


def op_write(p):
    offset = rnd.choice([0, rnd.randrange(MAX_SIZE), rnd.randrange(64) * 4096, rnd.randrange(8192)])
    payload = data(rnd.choice([1, 100, 4096, 5000, rnd.randrange(1, 300_000)]))
    payload = payload[:max(0, MAX_SIZE - offset)]
    def act(root, i):
        fd = os.open(os.path.join(root, p), os.O_WRONLY)
        try:
            unpin(root, i, p)
            return os.pwrite(fd, payload, offset)
        finally:
            os.close(fd)
    both('write %s %d+%d' % (p, offset, len(payload)), act)


def op_truncate(p):
    size = rnd.choice([0, rnd.randrange(MAX_SIZE), rnd.randrange(3) * 4096, rnd.randrange(5000)])
    def act(root, i):
        unpin(root, i, p)
        os.truncate(os.path.join(root, p), size)
    both('truncate %s %d' % (p, size), act)


def op_fallocate(p):
    mode = rnd.choice([0, KEEP_SIZE, PUNCH_HOLE | KEEP_SIZE, ZERO_RANGE, ZERO_RANGE | KEEP_SIZE, PUNCH_HOLE])
    offset = rnd.choice([rnd.randrange(MAX_SIZE), rnd.randrange(64) * 4096])
    length = rnd.choice([1, 4096, rnd.randrange(1, 200_000)])
    length = min(length, MAX_SIZE - offset) or 1
    def act(root, i):
        fd = os.open(os.path.join(root, p), os.O_WRONLY)
        try:
            unpin(root, i, p)
            if i == 1 and mode & ZERO_RANGE:
                # tmpfs has no ZERO_RANGE: what Linux documents for it, made of a punched hole and a truncate
                check(libc.fallocate(fd, PUNCH_HOLE | KEEP_SIZE, offset, length))
                if not mode & KEEP_SIZE and offset + length > os.fstat(fd).st_size:
                    os.ftruncate(fd, offset + length)
                return 0
            return check(libc.fallocate(fd, mode, offset, length))
        finally:
            os.close(fd)
    both('fallocate %s mode %#x %d+%d' % (p, mode, offset, length), act)


def op_link(a, b):
    names_change(a, b)
    both('link %s %s' % (a, b), lambda root, i: os.link(os.path.join(root, a), os.path.join(root, b)))


def op_rename(a, b):
    names_change(a, b)
    flags = rnd.choice([0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE])
    def act(root, i):
        return check(libc.renameat2(AT_FDCWD, os.path.join(root, a).encode(), AT_FDCWD,
                                    os.path.join(root, b).encode(), flags))
    both('rename %s %s flags %d' % (a, b, flags), act)


def op_unlink(p):
    names_change(p)
    both('unlink ' + p, lambda root, i: os.unlink(os.path.join(root, p)))


def op_rmdir(p):
    names_change(p)
    both('rmdir ' + p, lambda root, i: os.rmdir(os.path.join(root, p)))


def op_symlink(p):
    names_change(p)
    target = rnd.choice(['f0', '../f1', 'd0/f2', 'nowhere', 'x' * 300])
    both('symlink %s -> %s' % (p, target[:20]), lambda root, i: os.symlink(target, os.path.join(root, p)))


def op_chmod(p):
    mode = rnd.choice([0o644, 0o600, 0o755, 0o700, 0o4755, 0o2755, 0o1777, 0o444])
    both('chmod %s %o' % (p, mode), lambda root, i: os.chmod(os.path.join(root, p), mode))


def op_utime(p):
    when = (rnd.randrange(1, 2_000_000_000) * 1_000_000_000 + rnd.randrange(1_000_000_000),
            rnd.randrange(1, 2_000_000_000) * 1_000_000_000 + rnd.randrange(1_000_000_000))
    def act(root, i):
        full = os.path.join(root, p)
        os.utime(full, ns=when, follow_symlinks=False)
        if i == 1:
            pinned[os.lstat(full).st_ino] = when[1]
    both('utime ' + p, act)


def op_mmap_write(p):
    def act(root, i):
        fd = os.open(os.path.join(root, p), os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                return 'empty'
            r = random.Random(SEED * 1000 + len(log))
            at = r.randrange(size)
            payload = r.randbytes(min(size - at, r.randrange(1, 20_000)))
            unpin(root, i, p)
            with mmap.mmap(fd, size) as m:
                m[at:at + len(payload)] = payload
                if r.random() < 0.5:
                    m.flush()
            return at, len(payload)
        finally:
            os.close(fd)
    both('mmap-write ' + p, act)


def op_copy_range(a, b):
    src_offset = rnd.choice([0, rnd.randrange(64) * 4096, rnd.randrange(MAX_SIZE)])
    dst_offset = rnd.choice([0, src_offset % 4096 + rnd.randrange(64) * 4096, rnd.randrange(MAX_SIZE)])
    count = min(rnd.choice([100, 4096, rnd.randrange(1, 400_000)]), MAX_SIZE - dst_offset)
    def act(root, i):
        s = os.open(os.path.join(root, a), os.O_RDONLY)
        try:
            d = os.open(os.path.join(root, b), os.O_WRONLY)
            try:
                unpin(root, i, b)
                done = 0
                while done < count:  # the kernel may answer in parts: ask again, as cp does
                    n = os.copy_file_range(s, d, count - done, src_offset + done, dst_offset + done)
                    if n == 0:
                        break
                    done += n
                return done
            finally:
                os.close(d)
        finally:
            os.close(s)
    both('copy-range %s %d %s %d %d' % (a, src_offset, b, dst_offset, count), act)


def op_xattr(p):
    name = rnd.choice(['user.a', 'user.b'])
    if rnd.random() < 0.7:
        value = data(rnd.choice([0, 10, 300]))
        both('setxattr %s %s %d' % (p, name, len(value)),
             lambda root, i: os.setxattr(os.path.join(root, p), name, value, follow_symlinks=False))
    else:
        both('removexattr %s %s' % (p, name),
             lambda root, i: os.removexattr(os.path.join(root, p), name, follow_symlinks=False))


def op_fsync(p):
    def act(root, i):
        fd = os.open(os.path.join(root, p), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    both('fsync ' + p, act)


def op_open(p):
    if len(held) >= 4:
        return op_close()
    fds = [None, None]
    def act(root, i):
        fds[i] = os.open(os.path.join(root, p), os.O_RDWR)
    if both('open ' + p, act)[0] == 'ok':
        held.append([p, fds[0], fds[1]])
    else:
        for fd in fds:
            if fd is not None:
                os.close(fd)


def op_close():
    if not held:
        return
    entry = held.pop(rnd.randrange(len(held)))
    both('close ' + entry[0], lambda root, i: os.close(entry[1 + i]))


def op_held():
    if not held:
        return
    entry = rnd.choice(held)
    step_inodes.add(os.fstat(entry[2]).st_ino)
    kind = rnd.choice(['write', 'read', 'fstat', 'ftruncate', 'fsync'])
    offset = rnd.randrange(MAX_SIZE // 2)
    payload = data(rnd.randrange(1, 50_000))
    size = rnd.randrange(MAX_SIZE // 2)
    def act(root, i):
        fd = entry[1 + i]
        if i == 1 and kind in ('write', 'ftruncate'):
            pinned.pop(os.fstat(fd).st_ino, None)
        if kind == 'write':
            return os.pwrite(fd, payload, offset)
        if kind == 'read':
            return os.pread(fd, 100_000, offset)
        if kind == 'fstat':
            st = os.fstat(fd)
            return st.st_nlink, st.st_size, st.st_mode
        if kind == 'ftruncate':
            return os.ftruncate(fd, size)
        return os.fsync(fd)
    both('held-%s %s' % (kind, entry[0]), act)


def reference_entries():
    """The reference's entries, sorted; walked again only after a step changed something."""
    global cached_entries
    if cached_entries is None:
        cached_entries = sorted(entries(SIDES[1]))
    return cached_entries


def entries(root):
    found = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(d, name)
            found[os.path.relpath(full, root)] = full
    return found


def describe(full, with_bytes):
    st = os.lstat(full)
    kind = st.st_mode & 0o170000
    item = {'mode': oct(st.st_mode), 'nlink': st.st_nlink, 'uid': st.st_uid, 'gid': st.st_gid}
    if kind == 0o100000:
        item['size'] = st.st_size
        if with_bytes:
            with open(full, 'rb') as f:
                item['bytes'] = f.read()
    elif kind == 0o120000:
        item['target'] = os.readlink(full)
    elif kind == 0o040000:
        item['names'] = sorted(os.listdir(full))
    if kind != 0o120000:
        item['xattrs'] = {n: os.getxattr(full, n) for n in sorted(os.listxattr(full)) if n.startswith('user.')}
    return item, st


def compare(all_bytes):
    """Every attribute of every entry; the bytes of every file the step may have changed (all with all_bytes)."""
    mine, theirs = entries(SIDES[0]), entries(SIDES[1])
    if sorted(mine) != sorted(theirs):
        fail('names differ: mount %s, reference %s' % (sorted(mine), sorted(theirs)))
    reached = set(step_inodes)
    for p in step_names:
        for q in (p, os.path.dirname(p)):
            try:
                reached.add(os.lstat(os.path.join(SIDES[1], q)).st_ino)
            except OSError:
                pass
    for name in sorted(theirs):
        st = os.lstat(theirs[name])
        stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        with_bytes = all_bytes or st.st_ino in reached or seen.get(st.st_ino) != stamp
        a, _ = describe(mine[name], with_bytes)
        b, st = describe(theirs[name], with_bytes)
        if a != b:
            diff = [k for k in b if a.get(k) != b.get(k)]
            detail = {k: (str(a.get(k))[:80], str(b.get(k))[:80]) for k in diff}
            fail('%s differs in %s: (mount, reference) %s' % (name, diff, detail))
        seen[st.st_ino] = stamp
        if pinned.get(st.st_ino) == st.st_mtime_ns:
            mine_st = os.lstat(mine[name])
            if mine_st.st_mtime_ns != st.st_mtime_ns:
                fail('%s mtime: mount %d, reference %d' % (name, mine_st.st_mtime_ns, st.st_mtime_ns))
    step_names.clear()
    step_inodes.clear()


def drop_caches():
    os.sync()
    with open('/proc/sys/vm/drop_caches', 'w') as f:
        f.write('3\n')


def step():
    r = rnd.random()
    kind = None if rnd.random() < 0.2 else 'f'
    a, b = path(kind), path(kind)
    if r < 0.10:
        op_create(fresh() if rnd.random() < 0.7 else a)
    elif r < 0.14:
        op_mkdir(fresh() if rnd.random() < 0.7 else a)
    elif r < 0.30:
        op_write(a)
    elif r < 0.36:
        op_truncate(a)
    elif r < 0.42:
        op_fallocate(a)
    elif r < 0.46:
        op_link(a, fresh() if rnd.random() < 0.8 else b)
    elif r < 0.52:
        op_rename(a, fresh() if rnd.random() < 0.4 else b)
    elif r < 0.57:
        op_unlink(a)
    elif r < 0.59:
        op_rmdir(path('d'))
    elif r < 0.61:
        op_symlink(fresh() if rnd.random() < 0.8 else a)
    elif r < 0.64:
        op_chmod(a)
    elif r < 0.67:
        op_utime(a)
    elif r < 0.72:
        op_mmap_write(a)
    elif r < 0.77:
        op_copy_range(a, b)
    elif r < 0.81:
        op_xattr(a)
    elif r < 0.83:
        op_fsync(a)
    elif r < 0.87:
        op_open(a)
    elif r < 0.89:
        op_close()
    else:
        op_held()


def main():
    deadline = time.monotonic() + SECONDS
    drops = 0
    steps = 0
    while steps < STEPS and time.monotonic() < deadline:
        step()
        steps += 1
        compare(False)
        if steps % 97 == 0:
            drop_caches()
            drops += 1
            compare(True)
    while held:
        op_close()
    drop_caches()
    compare(True)
    print('%d steps, seed %d, %d cache drops, all equal; succeeded/run: %s' % (steps, SEED, drops + 1,
                                                               ' '.join('%s=%d/%d' % (k, v[0], v[0] + v[1]) for k, v in sorted(counts.items()))))


main()
