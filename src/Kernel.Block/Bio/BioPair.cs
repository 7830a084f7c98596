// Linux 2.6.20 fs/bio.c bio_split and struct bio_pair: a driver that remaps bios (md's raid0 and
// linear, dm) splits one that straddles a boundary of the device below into two bios over the
// same page, submits both, and drops its own reference; the original ends once, when both halves
// have, with the first error either had. As in 2.6.20 only a bio of one bio_vec that has not
// started can be split (BUG otherwise), which is what the callers of that era send.
namespace Kernel.Block;

public sealed class BioPair
{
    private int _cnt;

    private BioPair(Bio master, Bio bio1, Bio bio2)
    {
        Master = master;
        Bio1 = bio1;
        Bio2 = bio2;
    }

    /// <summary>The bio that was split; it ends when both halves and the caller's reference are done.</summary>
    public Bio Master { get; }

    /// <summary>bio1: the first `firstSectors` sectors; bio2: the rest.</summary>
    public Bio Bio1 { get; }

    public Bio Bio2 { get; }

    /// <summary>error: the first error of either half (0 when both succeeded).</summary>
    public int Error { get; private set; }

    /// <summary>
    /// bio_split: two bios over `bi`'s single bio_vec, the first of `firstSectors` sectors, from
    /// `set` (the pair's own pool in Linux); null when the pool has none now. The split is traced
    /// (blktrace's X) on `q`. The caller submits Bio1 and Bio2 and then calls Release.
    /// </summary>
    public static BioPair? Split(RequestQueue q, BioSet set, Bio bi, int firstSectors)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(bi);
        if (bi.Vcnt != 1 || bi.Idx != 0)
        {
            throw new Kernel.Core.KernelBug($"bio_split: bio at {bi.Sector} has {bi.Vcnt} bio_vecs from index {bi.Idx}; one, unstarted, is required");
        }
        if (firstSectors <= 0 || firstSectors >= bi.Sectors)
        {
            throw new ArgumentOutOfRangeException(nameof(firstSectors), firstSectors, $"a split of a {bi.Sectors}-sector bio leaves sectors on both sides");
        }
        var b1 = set.Alloc(Kernel.Mm.Gfp.GFP_NOIO, 1);
        if (b1 is null)
        {
            return null;
        }
        var b2 = set.Alloc(Kernel.Mm.Gfp.GFP_NOIO, 1);
        if (b2 is null)
        {
            b1.Put();
            return null;
        }
        q.TraceSplit(bi, bi.Sector + firstSectors);
        var v = bi.IoVec[0];
        int firstBytes = firstSectors << Bio.SECTOR_SHIFT;
        foreach (var (half, sector, offset, len) in new[] { (b1, bi.Sector, v.Offset, firstBytes), (b2, bi.Sector + firstSectors, v.Offset + firstBytes, v.Len - firstBytes) })
        {
            half.Sector = sector;
            half.Rw = bi.Rw;
            half.AddPage(v.Pfn, len, offset);
        }
        var bp = new BioPair(bi, b1, b2) { _cnt = 3 };
        b1.Private = b2.Private = bp;
        b1.OnEndIo = b2.OnEndIo = static (b, _, err) => ((BioPair)b.Private!).EndHalf(b, err);
        return bp;
    }

    /// <summary>bio_pair_end_1 and _2: note an error; a half that is complete drops its reference.</summary>
    private void EndHalf(Bio half, int error)
    {
        if (error != 0 && Error == 0)
        {
            Error = error;
        }
        if (half.Size == 0)
        {
            Release();
        }
    }

    /// <summary>bio_pair_release: drop one of the three references; the last ends the master with the pair's error and frees the halves.</summary>
    public void Release()
    {
        if (_cnt <= 0)
        {
            throw new Kernel.Core.KernelBug($"bio_pair_release: the pair of bio {Master.Sector} is already released");
        }
        if (--_cnt == 0)
        {
            Master.Endio(Master.Size, Error);
            Bio1.Put();
            Bio2.Put();
        }
    }
}
