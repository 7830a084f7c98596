// Linux 2.6.20 include/linux/bio.h: the bio's status bits (bi_flags) and its request bits
// (bi_rw: bit 0 is the direction, the others hints the elevator and driver read).
namespace Kernel.Block;

/// <summary>bi_flags: BIO_UPTODATE is set at allocation and cleared by an error.</summary>
[Flags]
public enum BioFlags
{
    None = 0,
    BIO_UPTODATE = 1 << 0,
    BIO_RW_BLOCK = 1 << 1,
    BIO_EOF = 1 << 2,
    BIO_SEG_VALID = 1 << 3,
    BIO_CLONED = 1 << 4,
    BIO_BOUNCED = 1 << 5,
    BIO_USER_MAPPED = 1 << 6,
    BIO_EOPNOTSUPP = 1 << 7,
}

/// <summary>bi_rw: BIO_RW (write when set), read-ahead, barrier, fail-fast, sync, meta.</summary>
[Flags]
public enum BioRw
{
    READ = 0,
    WRITE = 1 << 0,
    BIO_RW_AHEAD = 1 << 1,
    BIO_RW_BARRIER = 1 << 2,
    BIO_RW_FAILFAST = 1 << 3,
    BIO_RW_SYNC = 1 << 4,
    BIO_RW_META = 1 << 5,
}
