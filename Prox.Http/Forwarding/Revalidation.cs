using Microsoft.AspNetCore.Http;

namespace Prox.Http.Forwarding;

/// <summary>
/// One conditional request for an expired cache entry (RFC 9111 §4.3): the forwarder sends the entry's validators,
/// and a 304's header fields are kept here instead of going to the client, who then gets the entry itself.
/// </summary>
/// <param name="etag">The entry's <c>ETag</c>, sent as <c>If-None-Match</c>.</param>
/// <param name="lastModified">The entry's <c>Last-Modified</c>, sent as <c>If-Modified-Since</c> when it has no ETag.</param>
public sealed class Revalidation(string? etag, DateTimeOffset? lastModified)
{
    public string? ETag { get; } = etag;

    public DateTimeOffset? LastModified { get; } = lastModified;

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
