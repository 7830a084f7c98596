// Linux 2.6.20 mm/page_alloc.c, the buddy system proper: __rmqueue with expand (take the head
// of the smallest non-empty list of sufficient order, put the split-off upper halves on the
// lower lists) and __free_one_page (merge with the buddy pfn ^ (1 << order) while it is a free
// block of the same order, then add at the head of the list). Caller holds zone->lock.
namespace Kernel.Mm;

public sealed partial class MemorySubsystem
{
    private void AddToFreeArea(Zone zone, int pfn, int order)
    {
        var area = zone.FreeArea[order];
        area.List.AddHead(MemMap, pfn);
        area.NrFree++;
        ref var page = ref MemMap[pfn];
        page.Private = (uint)order; // set_page_order
        page.Set(PageFlag.PG_buddy);
    }

    private void DelFromFreeArea(Zone zone, int pfn, int order)
    {
        var area = zone.FreeArea[order];
        area.List.Del(MemMap, pfn);
        area.NrFree--;
        ref var page = ref MemMap[pfn];
        page.Private = 0; // rmv_page_order
        page.Clear(PageFlag.PG_buddy);
    }

    /// <summary>__rmqueue: a free block of exactly `order`, split from a larger one if needed; -1 if none.</summary>
    private int Rmqueue(Zone zone, int order)
    {
        for (int current = order; current < Zone.MAX_ORDER; current++)
        {
            var area = zone.FreeArea[current];
            if (area.Head < 0)
            {
                continue;
            }
            int pfn = area.Head;
            DelFromFreeArea(zone, pfn, current);
            zone.FreePages -= 1L << order;
            Expand(zone, pfn, order, current);
            return pfn;
        }
        return -1;
    }

    /// <summary>expand: give back the upper halves of a block split from order `high` down to `low`.</summary>
    private void Expand(Zone zone, int pfn, int low, int high)
    {
        int size = 1 << high;
        while (high > low)
        {
            high--;
            size >>= 1;
            AddToFreeArea(zone, pfn + size, high);
        }
    }

    /// <summary>page_is_buddy: a free block head of this order in the same zone.</summary>
    private bool PageIsBuddy(Zone zone, int buddyPfn, int order)
    {
        if (buddyPfn < zone.ZoneStartPfn || buddyPfn >= zone.ZoneStartPfn + zone.SpannedPages)
        {
            return false;
        }
        ref var b = ref MemMap[buddyPfn];
        return b.Test(PageFlag.PG_buddy) && b.Private == (uint)order;
    }

    /// <summary>__free_one_page: coalesce with free buddies, then list the merged block.</summary>
    private void FreeOneBlock(Zone zone, int pfn, int order)
    {
        zone.FreePages += 1L << order;
        while (order < Zone.MAX_ORDER - 1)
        {
            int buddy = pfn ^ (1 << order);
            if (!PageIsBuddy(zone, buddy, order))
            {
                break;
            }
            DelFromFreeArea(zone, buddy, order);
            pfn &= ~(1 << order);
            order++;
        }
        AddToFreeArea(zone, pfn, order);
    }
}
