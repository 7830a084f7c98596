// Linux 2.6.20 include/linux/bio.h struct bio_vec: one piece of a bio's data, a byte range of one
// page frame. The frame is named by its pfn in the machine's mem_map, so a bio points at the very
// pages the page cache or a process's memory holds.
namespace Kernel.Block;

public readonly record struct BioVec(int Pfn, int Len, int Offset);
