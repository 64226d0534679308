using Microsoft.AspNetCore.Http;

namespace Prox.Http.Cache;

/// <summary>
/// One conditional request for an expired entry (RFC 9111 §4.3): the forwarder sends the entry's validators, and
/// a 304's header fields are kept here instead of going to the client, who then gets the entry itself.
/// </summary>
public sealed class Revalidation(CacheEntry entry)
{
    public CacheEntry Entry { get; } = entry;

    /// <summary>The 304's header fields; null until (unless) the backend answers 304.</summary>
    public HeaderDictionary? NotModifiedHeaders { get; private set; }

    internal void Answer(HttpResponseMessage response)
    {
        var headers = new HeaderDictionary();
        foreach (var (name, values) in response.Headers) headers[name] = values.ToArray();
        foreach (var (name, values) in response.Content.Headers) headers[name] = values.ToArray();
        NotModifiedHeaders = headers;
    }
}
