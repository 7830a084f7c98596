// Where a disk's bytes live: in host memory (sparse: only 64 KB chunks ever written take memory,
// the rest reads as zeros), or in a host file, a disk image that persists between runs. The image
// is read and written with RandomAccess at sector offsets and locked for the one kernel that has
// it open (FileShare.None, an advisory flock on Unix), so a second kernel attaching it is refused.
using Microsoft.Win32.SafeHandles;

namespace Kernel.Block.Drivers;

public abstract class BlockStore : IDisposable
{
    /// <summary>The store's size in bytes (a multiple of 512).</summary>
    public abstract long CapacityBytes { get; }

    /// <summary>Whether writes are refused (a read-only image).</summary>
    public virtual bool IsReadOnly => false;

    public abstract void Read(long offset, Span<byte> destination);

    public abstract void Write(long offset, ReadOnlySpan<byte> source);

    /// <summary>Make written bytes durable (the image's flush).</summary>
    public virtual void Flush()
    {
    }

    public virtual void Dispose() => GC.SuppressFinalize(this);

    protected void Check(long offset, int length)
    {
        if (offset < 0 || length < 0 || offset > CapacityBytes - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"{length} bytes at {offset} are outside a store of {CapacityBytes} bytes");
        }
    }
}

/// <summary>A store in host memory, allocated in 64 KB chunks on first write.</summary>
public sealed class MemoryBlockStore : BlockStore
{
    private const int ChunkShift = 16;
    private const int ChunkSize = 1 << ChunkShift;
    private readonly Dictionary<long, byte[]> _chunks = new();

    public MemoryBlockStore(long capacityBytes)
    {
        if (capacityBytes <= 0 || capacityBytes % Bio.SECTOR_SIZE != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacityBytes), capacityBytes, "a disk's size is a positive multiple of 512 bytes");
        }
        CapacityBytes = capacityBytes;
    }

    public override long CapacityBytes { get; }

    /// <summary>Host bytes held (written chunks).</summary>
    public long HostBytes => (long)_chunks.Count * ChunkSize;

    public override void Read(long offset, Span<byte> destination)
    {
        Check(offset, destination.Length);
        while (!destination.IsEmpty)
        {
            long chunk = offset >> ChunkShift;
            int within = (int)(offset & (ChunkSize - 1));
            int n = Math.Min(destination.Length, ChunkSize - within);
            if (_chunks.TryGetValue(chunk, out var bytes))
            {
                bytes.AsSpan(within, n).CopyTo(destination);
            }
            else
            {
                destination[..n].Clear();
            }
            destination = destination[n..];
            offset += n;
        }
    }

    public override void Write(long offset, ReadOnlySpan<byte> source)
    {
        Check(offset, source.Length);
        while (!source.IsEmpty)
        {
            long chunk = offset >> ChunkShift;
            int within = (int)(offset & (ChunkSize - 1));
            int n = Math.Min(source.Length, ChunkSize - within);
            if (!_chunks.TryGetValue(chunk, out var bytes))
            {
                bytes = new byte[ChunkSize];
                _chunks.Add(chunk, bytes);
            }
            source[..n].CopyTo(bytes.AsSpan(within, n));
            source = source[n..];
            offset += n;
        }
    }
}

/// <summary>A disk image: a host file read and written in place.</summary>
public sealed class ImageFileStore : BlockStore
{
    private readonly SafeFileHandle _handle;
    private readonly bool _readOnly;

    private ImageFileStore(string path, SafeFileHandle handle, long capacity, bool readOnly)
    {
        Path = path;
        _handle = handle;
        CapacityBytes = capacity;
        _readOnly = readOnly;
    }

    public string Path { get; }

    public override long CapacityBytes { get; }

    public override bool IsReadOnly => _readOnly;

    /// <summary>
    /// Create (or replace) an image of `capacityBytes` (a positive multiple of 512), all zeros,
    /// and open it for reading and writing.
    /// </summary>
    public static ImageFileStore Create(string path, long capacityBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (capacityBytes <= 0 || capacityBytes % Bio.SECTOR_SIZE != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacityBytes), capacityBytes, "an image's size is a positive multiple of 512 bytes");
        }
        using (var fs = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None))
        {
            fs.SetLength(capacityBytes);
        }
        return Open(path);
    }

    /// <summary>
    /// Open an existing image; its size is the disk's. Host-side errors are clear: a missing file,
    /// one shorter than a sector or not a whole number of sectors, one that cannot be opened for
    /// writing (read-only; pass readOnly), or one another kernel has open (locked).
    /// </summary>
    public static ImageFileStore Open(string path, bool readOnly = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"disk image {path} does not exist", path);
        }
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, readOnly ? FileAccess.Read : FileAccess.ReadWrite, FileShare.None);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"disk image {path} cannot be opened for writing (read-only?); open it with readOnly: true", e);
        }
        catch (IOException e)
        {
            throw new IOException($"disk image {path} is in use (locked by another kernel instance or process)", e);
        }
        long length = RandomAccess.GetLength(handle);
        if (length < Bio.SECTOR_SIZE || length % Bio.SECTOR_SIZE != 0)
        {
            handle.Dispose();
            throw new IOException($"disk image {path} is {length} bytes: an image holds at least one 512-byte sector and a whole number of them");
        }
        return new ImageFileStore(path, handle, length, readOnly);
    }

    public override void Read(long offset, Span<byte> destination)
    {
        Check(offset, destination.Length);
        while (!destination.IsEmpty)
        {
            int n = RandomAccess.Read(_handle, destination, offset);
            if (n <= 0)
            {
                destination.Clear(); // past the host file's end: zeros, as a sparse image reads
                return;
            }
            destination = destination[n..];
            offset += n;
        }
    }

    public override void Write(long offset, ReadOnlySpan<byte> source)
    {
        if (_readOnly)
        {
            throw new InvalidOperationException($"disk image {Path} is read-only");
        }
        Check(offset, source.Length);
        RandomAccess.Write(_handle, source, offset);
    }

    public override void Flush() => RandomAccess.FlushToDisk(_handle);

    public override void Dispose()
    {
        _handle.Dispose();
        base.Dispose();
    }
}
