using System.Text.Json;
using System.Text.Json.Serialization;

namespace Prox.Actors.Config;

/// <summary>
/// Value equality for config records, as a reload needs it. Records compare their <c>ImmutableArray</c> members by
/// reference, so two parses of the same text would never be equal; comparing canonical JSON compares every member
/// by value instead. Only reloads use it, so its cost does not matter.
/// </summary>
public static class ConfigComparer
{
    private static readonly JsonSerializerOptions Options = new()
    {
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>True when <paramref name="a"/> and <paramref name="b"/> hold the same values, all the way down.</summary>
    public static bool Same<T>(T? a, T? b) where T : class =>
        ReferenceEquals(a, b)
        || (a is not null && b is not null && JsonSerializer.Serialize(a, Options) == JsonSerializer.Serialize(b, Options));

    /// <summary>A short hash of <paramref name="value"/>'s canonical JSON: equal for <see cref="Same{T}"/> values, so
    /// nodes can tell whether they run the same config of something without shipping it.</summary>
    public static string Fingerprint<T>(T value) where T : class =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(value, Options)))[..16];
}
