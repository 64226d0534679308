using Prox.Actors.Webhooks;
using Xunit;

namespace Prox.Tests.Webhooks;

public class RecentEventIdsTests
{
    [Fact]
    public void Add_BeyondCapacity_ForgetsOldest()
    {
        var ids = new RecentEventIds(2);
        ids.Add("a");
        ids.Add("b");
        ids.Add("a"); // known: does not make "a" younger, nor push anything out
        Assert.Equal(["a", "b"], ids.OldestFirst);

        ids.Add("c");
        Assert.False(ids.Contains("a"));
        Assert.True(ids.Contains("b"));
        Assert.True(ids.Contains("c"));
        Assert.Equal(["b", "c"], ids.OldestFirst);
        Assert.Equal(2, ids.Count);
    }

    [Fact]
    public void OldestFirst_AddedInOrder_RebuildsTheSameSet()
    {
        var ids = new RecentEventIds(3);
        foreach (var id in new[] { "a", "b", "c", "d" }) ids.Add(id);
        var rebuilt = new RecentEventIds(3);
        foreach (var id in ids.OldestFirst) rebuilt.Add(id);
        rebuilt.Add("e");
        Assert.Equal(["c", "d", "e"], rebuilt.OldestFirst);
    }
}
