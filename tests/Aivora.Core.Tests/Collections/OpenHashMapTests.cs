using Aivora.Core.Collections;

namespace Aivora.Core.Tests.Collections;

public sealed class OpenHashMapTests
{
    [Theory]
    [InlineData(1, 64)]
    [InlineData(2, 1_000)]
    [InlineData(3, 5)]
    public void ShouldAgreeWithDictionaryUnderRandomChurnWhenKeysCollide(int seed, int maxCount)
    {
        var random = new Random(seed);
        var map = new OpenHashMap<ClientOrderKey>(maxCount);
        var model = new Dictionary<ClientOrderKey, int>();
        var homes = new Dictionary<ClientOrderKey, int>();   // each entry's home as given when it was added (as an order slot keeps it)
        for (var i = 0; i < 200_000; i++)
        {
            // Few accounts, clustered ids: long probe runs, so backward-shift deletion is exercised.
            var key = new ClientOrderKey(random.Next(4), random.Next(maxCount * 3));
            map.Prefetch(key);   // a hint only: every answer below must be as without it
            switch (random.Next(5))
            {
                case 0:
                    // Half by key alone, half from the home asked for first (as the engine indexes an order): the same map.
                    var home = map.HomeOf(key);
                    var added = (i & 1) == 0 ? map.TryAdd(key, i) : map.TryAddFrom(home, key, i);
                    var modelAdded = model.Count < maxCount && model.TryAdd(key, i);
                    Assert.Equal(modelAdded, added);
                    if (added)
                    {
                        homes[key] = home;
                    }

                    break;
                case 1:
                    Assert.Equal(model.Remove(key), map.Remove(key));
                    break;
                case 2:
                    // By key and value, as an order's release does: found by the value alone, the same entry as by key.
                    // A value no entry holds (values are unique: i) changes nothing.
                    Assert.False(map.RemoveEntry(key, -1));
                    Assert.False(map.RemoveEntry(key, int.MaxValue));
                    if (model.Remove(key, out var held))
                    {
                        Assert.True(map.RemoveEntry(key, held));
                    }
                    else
                    {
                        Assert.False(map.RemoveEntry(key, i));   // i: no entry holds it yet
                    }

                    break;
                case 3:
                    // From the home kept since the add, as an order's release does: the same entry, though entries before it
                    // may have shifted it back since. A home past the table, or a value no entry holds, changes nothing.
                    Assert.False(map.RemoveEntryFrom(-1, 0));
                    Assert.False(map.RemoveEntryFrom(int.MaxValue, 0));
                    if (model.Remove(key, out var kept))
                    {
                        Assert.True(map.RemoveEntryFrom(homes[key], kept));
                        Assert.False(map.TryGetValue(key, out _));
                    }
                    else
                    {
                        Assert.False(map.RemoveEntryFrom(map.HomeOf(key), i));
                    }

                    break;
                default:
                    // By key, or from the home asked for first (as the engine's lookups after its prefetch): the same answer.
                    Assert.Equal(model.TryGetValue(key, out var expected), (i & 1) == 0 ? map.TryGetValue(key, out var actual) : map.TryGetValueFrom(map.HomeOf(key), key, out actual));
                    Assert.Equal(expected, actual);
                    break;
            }

            Assert.Equal(model.Count, map.Count);
        }

        foreach (var (key, value) in model)
        {
            Assert.True(map.TryGetValue(key, out var actual));
            Assert.Equal(value, actual);
        }
    }

    [Fact]
    public void ShouldRefuseNewKeyWhenFullAndAcceptAgainAfterRemove()
    {
        var map = new OpenHashMap<OrderIdKey>(3);
        Assert.True(map.TryAdd(new OrderIdKey(1), 10));
        Assert.True(map.TryAdd(new OrderIdKey(2), 20));
        Assert.True(map.TryAdd(new OrderIdKey(3), 30));

        map.Prefetch(new OrderIdKey(long.MinValue));   // any key, present or not, in range of the table
        map.Prefetch(new OrderIdKey(-1));
        Assert.False(map.TryAdd(new OrderIdKey(4), 40));
        Assert.False(map.TryAdd(new OrderIdKey(2), 99));
        Assert.True(map.Remove(new OrderIdKey(2)));
        Assert.True(map.TryAdd(new OrderIdKey(4), 40));
        Assert.True(map.TryGetValue(new OrderIdKey(4), out var v) && v == 40);
    }
}
