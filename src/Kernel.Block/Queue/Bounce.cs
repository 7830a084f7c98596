// Linux 2.6.20 mm/highmem.c blk_queue_bounce: a device whose DMA cannot reach a page (pfn at or
// above the queue's bounce_pfn; BLK_BOUNCE_HIGH is every highmem page) gets a copy of the bio
// whose pieces above the limit point at lowmem bounce pages from a page mempool (POOL_SIZE 64).
// A write copies the data down before the I/O; a read copies it up at completion. The original
// bio ends when its bounce copy does. The copies cost CPU time and the pages are lowmem, which is
// what the experiment measures against a device that reaches highmem directly.
using Kernel.Core;
using Kernel.Core.Locking;
using Kernel.Core.Tasks;
using Kernel.Core.Time;
using Kernel.Mm;

namespace Kernel.Block;

/// <summary>The bounce page pool (highmem.c page_pool) and its counters.</summary>
public sealed class BouncePool
{
    /// <summary>POOL_SIZE: pages kept in reserve.</summary>
    public const int POOL_SIZE = 64;

    private readonly MemorySubsystem _mem;
    private readonly Stack<int> _reserve = new();

    internal BouncePool(MemorySubsystem mem)
    {
        _mem = mem;
        for (int i = 0; i < POOL_SIZE; i++)
        {
            int pfn = mem.AllocPages(Gfp.GFP_KERNEL, 0);
            if (pfn < 0)
            {
                break;
            }
            _reserve.Push(pfn);
        }
        Wait = new WaitQueueHead("bounce_pool.wait");
    }

    internal WaitQueueHead Wait { get; }

    /// <summary>Bounce pages in use now, and the most ever (lowmem taken by bouncing).</summary>
    public int InUse { get; private set; }

    public int MaxInUse { get; private set; }

    /// <summary>Bios that needed a bounce copy, pages bounced, and bytes copied down or up.</summary>
    public long BouncedBios { get; internal set; }

    public long BouncedPages { get; internal set; }

    public long BytesCopied { get; internal set; }

    /// <summary>mempool_alloc without sleeping: a lowmem page from the buddy, else the reserve; -1 if neither has one.</summary>
    internal int TryAlloc()
    {
        int pfn = _mem.AllocPages(Gfp.GFP_NOWAIT, 0);
        if (pfn < 0 && !_reserve.TryPop(out pfn))
        {
            return -1;
        }
        InUse++;
        _mem.NrBounce++; // inc_zone_page_state(NR_BOUNCE)
        MaxInUse = Math.Max(MaxInUse, InUse);
        return pfn;
    }

    /// <summary>mempool_alloc with __GFP_WAIT: sleep in I/O wait until a page is freed back.</summary>
    internal async ValueTask<int> AllocAsync(Machine m)
    {
        while (true)
        {
            int pfn = TryAlloc();
            if (pfn >= 0)
            {
                return pfn;
            }
            Wait.PrepareToWait(m, TaskState.TASK_UNINTERRUPTIBLE);
            if (_reserve.Count == 0)
            {
                await m.IoScheduleTimeout(5 * m.Hz.Value);
            }
            Wait.FinishWait(m);
        }
    }

    /// <summary>mempool_free: refill the reserve first, and wake a sleeper.</summary>
    internal void Free(int pfn)
    {
        InUse--;
        _mem.NrBounce--;
        if (_reserve.Count < POOL_SIZE)
        {
            _reserve.Push(pfn);
        }
        else
        {
            _mem.FreePages(pfn, 0);
        }
        if (Wait.IsActive)
        {
            Wait.WakeUp(TaskState.TASK_UNINTERRUPTIBLE, 1);
        }
    }
}

public sealed partial class RequestQueue
{
    /// <summary>Whether any piece of `bio` lies at or above bounce_pfn.</summary>
    private bool NeedsBounce(Bio bio)
    {
        if (BouncePfn == int.MaxValue)
        {
            return false;
        }
        for (int i = bio.Idx; i < bio.Vcnt; i++)
        {
            if (bio.IoVec[i].Pfn >= BouncePfn)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// __blk_queue_bounce without sleeping: the bounce bio, or null when the pool is dry (the
    /// caller then sleeps for pages, or backlogs the bio). `bio` itself is returned when nothing
    /// needs bouncing.
    /// </summary>
    private Bio? TryBounce(Bio bio)
    {
        if (!NeedsBounce(bio))
        {
            return bio;
        }
        var pool = Block.BouncePool;
        var copy = Block.FsBioSet.Alloc(Gfp.GFP_NOIO, bio.Vcnt - bio.Idx);
        if (copy is null)
        {
            return null;
        }
        var taken = new List<int>();
        for (int i = bio.Idx; i < bio.Vcnt; i++)
        {
            var v = bio.IoVec[i];
            if (v.Pfn < BouncePfn)
            {
                copy.AddPage(v.Pfn, v.Len, v.Offset);
                continue;
            }
            int pfn = pool.TryAlloc();
            if (pfn < 0)
            {
                foreach (int t in taken)
                {
                    pool.Free(t);
                }
                copy.Put();
                return null;
            }
            taken.Add(pfn);
            copy.AddPage(pfn, v.Len, v.Offset);
        }
        FinishBounce(bio, copy, taken.Count);
        return copy;
    }

    /// <summary>The sleeping form: waits for bounce pages as mempool_alloc(GFP_NOIO) does.</summary>
    private async ValueTask<Bio> BounceSleeping(Bio bio)
    {
        var pool = Block.BouncePool;
        var copy = await Block.FsBioSet.AllocAsync(Gfp.GFP_NOIO, bio.Vcnt - bio.Idx);
        int pages = 0;
        for (int i = bio.Idx; i < bio.Vcnt; i++)
        {
            var v = bio.IoVec[i];
            int pfn = v.Pfn;
            if (v.Pfn >= BouncePfn)
            {
                pfn = await pool.AllocAsync(Machine);
                pages++;
            }
            copy!.AddPage(pfn, v.Len, v.Offset);
        }
        FinishBounce(bio, copy!, pages);
        return copy!;
    }

    private void FinishBounce(Bio orig, Bio copy, int pages)
    {
        var pool = Block.BouncePool;
        copy.Sector = orig.Sector;
        copy.Rw = orig.Rw;
        copy.Flags |= BioFlags.BIO_BOUNCED;
        copy.Private = orig;
        copy.OnEndIo = BounceEndIo;
        pool.BouncedBios++;
        pool.BouncedPages += pages;
        if (orig.IsWrite)
        {
            // copy_to_high_bio_irq's counterpart on the way down: the data go to the bounce pages now.
            CopyBounced(orig, copy, toCopy: true);
        }
        Trace(BlockAction.Bounce, orig);
    }

    /// <summary>Copy the bounced pieces between the original and the copy (down for a write, up for a read).</summary>
    private void CopyBounced(Bio orig, Bio copy, bool toCopy)
    {
        var mem = Memory;
        long bytes = 0;
        for (int i = 0; i < copy.Vcnt; i++)
        {
            var o = orig.IoVec[orig.Idx + i];
            var c = copy.IoVec[i];
            if (o.Pfn == c.Pfn)
            {
                continue;
            }
            if (toCopy)
            {
                mem.ReadPage(o.Pfn).Slice(o.Offset, o.Len).CopyTo(mem.WritePage(c.Pfn, c.Offset, c.Len));
            }
            else
            {
                mem.ReadPage(c.Pfn).Slice(c.Offset, c.Len).CopyTo(mem.WritePage(o.Pfn, o.Offset, o.Len));
            }
            bytes += o.Len;
        }
        Block.BouncePool.BytesCopied += bytes;
        Machine.Charge(bytes * Block.Costs.CopyPsPerByte / 1000);
    }

    /// <summary>bounce_end_io_read / _write: copy a read up, give the bounce pages back, end the original.</summary>
    private void BounceEndIo(Bio copy, int bytesDone, int error)
    {
        if (copy.Size != 0)
        {
            return;
        }
        var orig = (Bio)copy.Private!;
        if (!orig.IsWrite && copy.Uptodate)
        {
            CopyBounced(orig, copy, toCopy: false);
        }
        for (int i = 0; i < copy.Vcnt; i++)
        {
            if (copy.IoVec[i].Pfn != orig.IoVec[orig.Idx + i].Pfn)
            {
                Block.BouncePool.Free(copy.IoVec[i].Pfn);
            }
        }
        int err = copy.Uptodate ? 0 : (int)Errno.EIO.Ret();
        copy.Put();
        orig.Endio(orig.Size, err);
    }
}
