// Linux 2.6.20 kernel/futex.c: wait, wake, requeue and wake_op over a hash table of buckets (1 << FUTEX_HASHBITS),
// each with its own spinlock and a list of futex_q waiters. FUTEX_WAIT reads the user word under
// the bucket lock and queues only if it still holds the expected value, so a FUTEX_WAKE that
// follows the waker's store cannot be missed: the waker takes the same bucket lock to find the
// waiters. Keys come from MmStruct.GetFutexKey (private: mm and address; shared: the mapped file's
// page), so processes sharing a mapping at different addresses meet on one futex.
using Kernel.Core;
using Kernel.Core.Locking;
using Kernel.Core.Tasks;
using Kernel.Core.Time;
using Kernel.Mm.Arch;
using Kernel.Mm.Memory;
using Kernel.Process;

namespace Kernel.Futex;

public sealed partial class FutexTable
{
    /// <summary>FUTEX_HASHBITS (8 without CONFIG_BASE_SMALL): 256 buckets.</summary>
    public const int FUTEX_HASHBITS = 8;

    /// <summary>The costs of the hash and the bucket lock hold (a few cache lines touched).</summary>
    public const long BucketLockHoldNs = 40;

    private readonly Machine _m;
    private readonly Bucket[] _buckets;

    internal FutexTable(Machine m)
    {
        _m = m;
        Tracepoints = new FutexTracepoints(m.Trace);
        _buckets = Enumerable.Range(0, 1 << FUTEX_HASHBITS).Select(i => new Bucket(i)).ToArray();
    }

    /// <summary>struct futex_hash_bucket: its lock and its waiters (futex_q).</summary>
    public sealed class Bucket(int index)
    {
        public KSpinLock Lock { get; } = new($"futex_hash_bucket[{index}]");

        public LinkedList<FutexQ> Chain { get; } = new();
    }

    /// <summary>struct futex_q: one waiter, its key and whether a wake has taken it off its chain.</summary>
    public sealed class FutexQ
    {
        public FutexQ(TaskStruct task, FutexKey key)
        {
            Task = task;
            Key = key;
            OwnNode = new LinkedListNode<FutexQ>(this);
        }

        public TaskStruct Task { get; }

        public FutexKey Key { get; set; }

        /// <summary>The chain node while queued (null once woken or unqueued).</summary>
        public LinkedListNode<FutexQ>? Node { get; set; }

        /// <summary>The one list node of this futex_q, reused on every queueing.</summary>
        internal LinkedListNode<FutexQ> OwnNode { get; }

        /// <summary>The bits a FUTEX_WAKE_BITSET must share (FUTEX_BITSET_MATCH_ANY for a plain wait).</summary>
        public int Bitset { get; set; } = FUTEX_BITSET_MATCH_ANY;

        /// <summary>pi_state: set for a waiter of a PI futex.</summary>
        public FutexPiState? PiState { get; set; }
    }

    public FutexTracepoints Tracepoints { get; }

    /// <summary>Waiters queued now, over every bucket.</summary>
    public int Waiters => _buckets.Sum(b => b.Chain.Count);

    /// <summary>hash_futex: the bucket of a key.</summary>
    public Bucket HashFutex(FutexKey key)
    {
        uint h = (uint)System.HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(key.Target), key.Word, key.Offset);
        return _buckets[(int)((h * 0x9E3779B1u) >> (32 - FUTEX_HASHBITS))];
    }

    private void LockBucket(Bucket b) => _m.ChargeLock(b.Lock, _m.ThisCpu, BucketLockHoldNs);

    /// <summary>FUTEX_BITSET_MATCH_ANY: the bitset of a plain FUTEX_WAIT and FUTEX_WAKE.</summary>
    public const int FUTEX_BITSET_MATCH_ANY = -1;

    /// <summary>
    /// futex_wait: sleep on the word at `uaddr` if it still holds `val`, until a wake, the
    /// timeout or a signal. `timeoutNs` is relative (2.6.20's FUTEX_WAIT: timespec_to_jiffies + 1
    /// ticks of schedule_timeout) or, with `absolute`, a time on the simulated monotonic clock
    /// (FUTEX_WAIT_BITSET's hrtimer); negative means none. `bitset` is what a FUTEX_WAKE_BITSET
    /// must share with it. 0, -EWOULDBLOCK (-EAGAIN) when the value differs, -ETIMEDOUT,
    /// -EINTR, or the key's -EFAULT/-EINVAL.
    /// </summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<long> Wait(MmStruct mm, long uaddr, bool fshared, int val, long timeoutNs, int bitset = FUTEX_BITSET_MATCH_ANY, bool absolute = false)
    {
        var p = _m.RequireExecuting();
        if (bitset == 0)
        {
            return Errno.EINVAL.Ret();
        }
        long err = mm.GetFutexKey(uaddr, fshared, out var key);
        if (err < 0)
        {
            return err;
        }
        var b = HashFutex(key);
        LockBucket(b);
        // get_futex_value_locked: the check happens "under the bucket lock", so no wake is lost.
        if (Uaccess.GetUser(mm, uaddr, out int cur) < 0)
        {
            return Errno.EFAULT.Ret();
        }
        if (cur != val)
        {
            return Errno.EAGAIN.Ret(); // EWOULDBLOCK
        }
        // The futex_q lives on the waiter's stack in Linux: one per task here, reused (a task waits on one futex at a time).
        var ps = ProcessState.Of(p);
        var q = ps.FutexQ ??= new FutexQ(p, key);
        q.Key = key;
        q.Bitset = bitset;
        QueueMe(b, q);
        p.State = TaskState.TASK_INTERRUPTIBLE;
        long sleptFrom = _m.Now;
        bool timedOut = false;
        if (!Machine.SignalPending(p))
        {
            if (absolute && timeoutNs >= 0)
            {
                var timer = ps.SleepTimer ??= new KTimer(ScheduleTimeoutOps.ProcessTimeout, p); // nanosleep's, reused
                timer.Start(_m, Math.Max(timeoutNs, _m.Now));
                await _m.Schedule();
                timedOut = !timer.Del(_m);
            }
            else if (timeoutNs < 0)
            {
                await _m.Schedule(); // schedule_timeout(MAX_SCHEDULE_TIMEOUT) is schedule(): one async frame fewer per sleep
            }
            else
            {
                long jiffies = ((timeoutNs + _m.Hz.TickNsec - 1) / _m.Hz.TickNsec) + 1;
                timedOut = await _m.ScheduleTimeout(jiffies) == 0;
            }
        }
        p.State = TaskState.TASK_RUNNING;
        // unqueue_me: "If we were woken (and unqueued), we succeeded, whatever." Still queued
        // means the timeout ran out, or a signal.
        long ret = 0;
        if (q.Node is not null)
        {
            HashFutex(q.Key).Chain.Remove(q.Node); // a requeue may have moved it to another bucket
            q.Node = null;
            ret = timedOut ? Errno.ETIMEDOUT.Ret() : Errno.EINTR.Ret();
        }
        if (Tracepoints.Wait.Enabled)
        {
            Tracepoints.Wait.Emit(new FutexWaitEvent(_m.Now, _m.ThisCpu.Id, p.Pid, q.Key.ToString(), ret, _m.Now - sleptFrom));
        }
        return ret;
    }

    /// <summary>
    /// futex_wake: wake up to `nr` waiters of the word at `uaddr` whose bitset shares a bit with
    /// `bitset`; the number woken, -EINVAL for a zero bitset or a PI futex, or the key's error.
    /// </summary>
    public long Wake(MmStruct mm, long uaddr, bool fshared, int nr, int bitset = FUTEX_BITSET_MATCH_ANY)
    {
        if (bitset == 0)
        {
            return Errno.EINVAL.Ret();
        }
        long err = mm.GetFutexKey(uaddr, fshared, out var key);
        if (err < 0)
        {
            return err;
        }
        var b = HashFutex(key);
        LockBucket(b);
        return WakeKey(b, key, nr, bitset, refusePi: true);
    }

    /// <summary>
    /// futex_requeue (FUTEX_REQUEUE, and FUTEX_CMP_REQUEUE when `cmpval` is given): wake up to
    /// `nrWake` waiters of uaddr1 and move up to `nrRequeue` more to uaddr2's queue. Returns the
    /// number woken plus the number moved; -EAGAIN when *uaddr1 != cmpval.
    /// </summary>
    public long Requeue(MmStruct mm, long uaddr1, long uaddr2, bool fshared, int nrWake, int nrRequeue, int? cmpval)
    {
        long err = LockTwo(mm, uaddr1, uaddr2, fshared, out var key1, out var key2, out var b1, out var b2);
        if (err < 0)
        {
            return err;
        }
        if (cmpval is int expected)
        {
            if (Uaccess.GetUser(mm, uaddr1, out int cur) < 0)
            {
                return Errno.EFAULT.Ret();
            }
            if (cur != expected)
            {
                return Errno.EAGAIN.Ret();
            }
        }
        int ret = 0;
        for (var n = b1.Chain.First; n is not null;)
        {
            var next = n.Next;
            var q = n.Value;
            if (q.Key == key1)
            {
                if (++ret <= nrWake)
                {
                    WakeFutex(b1, q);
                }
                else
                {
                    if (b2 != b1)
                    {
                        b1.Chain.Remove(n);
                        b2.Chain.AddLast(n);
                    }
                    q.Key = key2;
                    // 2.6.20 moves a waiter before it checks the count, so nr_requeue 0 still
                    // moves one.
                    if (ret - nrWake >= nrRequeue)
                    {
                        break;
                    }
                }
            }
            n = next;
        }
        if (Tracepoints.Requeue.Enabled)
        {
            int woken = Math.Min(ret, Math.Max(nrWake, 0));
            Tracepoints.Requeue.Emit(new FutexRequeueEvent(_m.Now, _m.ThisCpu.Id, _m.Executing?.Pid ?? 0, key1.ToString(), key2.ToString(), woken, ret - woken));
        }
        return ret;
    }

    /// <summary>
    /// futex_wake_op: apply the encoded operation to *uaddr2, wake up to `nrWake` waiters of
    /// uaddr1, and, if the old value of *uaddr2 passes the encoded comparison, up to `nrWake2` of
    /// uaddr2. The number woken; -ENOSYS for an unknown operation or comparison.
    /// </summary>
    public long WakeOp(MmStruct mm, long uaddr1, long uaddr2, bool fshared, int nrWake, int nrWake2, int encodedOp)
    {
        int op = (encodedOp >> 28) & 7;
        int cmp = (encodedOp >> 24) & 15;
        int oparg = (encodedOp << 8) >> 20;
        int cmparg = (encodedOp << 20) >> 20;
        if ((encodedOp & (FUTEX_OP_OPARG_SHIFT << 28)) != 0)
        {
            oparg = 1 << oparg;
        }
        if (op > FUTEX_OP_XOR || cmp > FUTEX_OP_CMP_GE)
        {
            return Errno.ENOSYS.Ret();
        }
        long err = LockTwo(mm, uaddr1, uaddr2, fshared, out var key1, out var key2, out var b1, out var b2);
        if (err < 0)
        {
            return err;
        }
        // futex_atomic_op_inuser: read, apply, write back (one atomic step on the host).
        if (Uaccess.GetUser(mm, uaddr2, out int oldval) < 0)
        {
            return Errno.EFAULT.Ret();
        }
        int newval = op switch
        {
            FUTEX_OP_SET => oparg,
            FUTEX_OP_ADD => oldval + oparg,
            FUTEX_OP_OR => oldval | oparg,
            FUTEX_OP_ANDN => oldval & ~oparg,
            _ => oldval ^ oparg,
        };
        if (Uaccess.PutUser(mm, uaddr2, newval) < 0)
        {
            return Errno.EFAULT.Ret();
        }
        bool pass = cmp switch
        {
            FUTEX_OP_CMP_EQ => oldval == cmparg,
            FUTEX_OP_CMP_NE => oldval != cmparg,
            FUTEX_OP_CMP_LT => oldval < cmparg,
            FUTEX_OP_CMP_LE => oldval <= cmparg,
            FUTEX_OP_CMP_GT => oldval > cmparg,
            _ => oldval >= cmparg,
        };
        int woken = WakeKey(b1, key1, nrWake);
        if (pass)
        {
            woken += WakeKey(b2, key2, nrWake2);
        }
        return woken;
    }

    public const int FUTEX_OP_SET = 0;
    public const int FUTEX_OP_ADD = 1;
    public const int FUTEX_OP_OR = 2;
    public const int FUTEX_OP_ANDN = 3;
    public const int FUTEX_OP_XOR = 4;
    public const int FUTEX_OP_OPARG_SHIFT = 8;
    public const int FUTEX_OP_CMP_EQ = 0;
    public const int FUTEX_OP_CMP_NE = 1;
    public const int FUTEX_OP_CMP_LT = 2;
    public const int FUTEX_OP_CMP_LE = 3;
    public const int FUTEX_OP_CMP_GT = 4;
    public const int FUTEX_OP_CMP_GE = 5;

    /// <summary>FUTEX_OP(op, oparg, cmp, cmparg): the encoding userspace builds for FUTEX_WAKE_OP.</summary>
    public static int EncodeOp(int op, int oparg, int cmp, int cmparg) =>
        ((op & 0xf) << 28) | ((cmp & 0xf) << 24) | ((oparg & 0xfff) << 12) | (cmparg & 0xfff);

    /// <summary>
    /// Wake up to `nr` waiters of `key` in `b` whose bitset shares a bit with `bitset`. With
    /// `refusePi` (futex_wake) meeting a PI waiter is -EINVAL: its waiters belong to the rt_mutex.
    /// 2.6.20's wake_op does not check.
    /// </summary>
    private int WakeKey(Bucket b, FutexKey key, int nr, int bitset = FUTEX_BITSET_MATCH_ANY, bool refusePi = false)
    {
        int woken = 0;
        for (var n = b.Chain.First; n is not null && woken < nr;)
        {
            var next = n.Next;
            var q = n.Value;
            if (q.Key == key)
            {
                if (refusePi && q.PiState is not null)
                {
                    return (int)Errno.EINVAL.Ret();
                }
                if ((q.Bitset & bitset) != 0)
                {
                    WakeFutex(b, q);
                    woken++;
                }
            }
            n = next;
        }
        if (Tracepoints.Wake.Enabled)
        {
            Tracepoints.Wake.Emit(new FutexWakeEvent(_m.Now, _m.ThisCpu.Id, _m.Executing?.Pid ?? 0, key.ToString(), nr, woken));
        }
        return woken;
    }

    /// <summary>__queue_me: put `q` on its bucket's chain (its own list node, reused).</summary>
    private static void QueueMe(Bucket b, FutexQ q)
    {
        b.Chain.AddLast(q.OwnNode);
        q.Node = q.OwnNode;
    }

    /// <summary>The keys of two words and their buckets, both locked (the second only if it is another one).</summary>
    private long LockTwo(MmStruct mm, long uaddr1, long uaddr2, bool fshared, out FutexKey key1, out FutexKey key2, out Bucket b1, out Bucket b2)
    {
        b1 = b2 = null!;
        key2 = default;
        long err = mm.GetFutexKey(uaddr1, fshared, out key1);
        if (err < 0 || (err = mm.GetFutexKey(uaddr2, fshared, out key2)) < 0)
        {
            return err;
        }
        b1 = HashFutex(key1);
        b2 = HashFutex(key2);
        LockBucket(b1);
        if (b2 != b1)
        {
            LockBucket(b2);
        }
        return 0;
    }

    /// <summary>wake_futex: off the chain first (the waiter sees it was woken), then wake_up_process.</summary>
    private void WakeFutex(Bucket b, FutexQ q)
    {
        b.Chain.Remove(q.Node!);
        q.Node = null;
        _m.WakeUpProcess(q.Task);
    }

    /// <summary>
    /// Every queued waiter sits in its key's bucket and sleeps (or, woken by a signal or a
    /// timeout, is about to run); a PI waiter's pi_state is held by its owner and its rt_mutex is
    /// consistent.
    /// </summary>
    public IEnumerable<string> CheckInvariants()
    {
        foreach (var b in _buckets)
        {
            foreach (var q in b.Chain)
            {
                if (HashFutex(q.Key) != b)
                {
                    yield return $"futex_q of {q.Task} for {q.Key} is in the wrong bucket";
                }
                if (q.Task.ExitState != 0)
                {
                    yield return $"futex_q of exited {q.Task} is still queued";
                }
                else if (q.Task.State == TaskState.TASK_RUNNING && q.Task.Array is null && _m.Cpus[q.Task.Cpu].Curr != q.Task)
                {
                    yield return $"futex_q of {q.Task} is queued but the task neither sleeps nor can run";
                }
                if (q.PiState is { } pi)
                {
                    if (pi.Owner is { } owner && ProcessState.Of(owner).PiStateList?.Contains(pi) != true)
                    {
                        yield return $"pi_state of {q.Key} is not on its owner {owner}'s pi_state_list";
                    }
                    foreach (var problem in pi.PiMutex.CheckInvariants())
                    {
                        yield return problem;
                    }
                }
            }
        }
    }
}
