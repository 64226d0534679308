using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Prox.Http.Pipeline;

namespace Prox.Http.Errors;

/// <summary>
/// The one way Prox writes a response of its own: RFC 9457 problem+json with the request id and trace id.
/// Never includes exception text or stack traces.
/// </summary>
public static class Problems
{
    public const string ContentType = "application/problem+json";

    /// <param name="errors">Listed as the <c>errors</c> member (e.g. every config error with its path).</param>
    /// <param name="headers">Extra response headers (e.g. <c>Allow</c>, <c>Connection</c>), set after the response is cleared.</param>
    public static async Task WriteAsync(HttpContext ctx, int status, string title, string detail,
        string? requestId = null, int? retryAfterSeconds = null, IReadOnlyList<string>? errors = null,
        params (string Name, string Value)[] headers)
    {
        var resp = ctx.Response;
        if (resp.HasStarted) return;
        resp.Clear(); // whatever a failed forward left behind must not leak into our answer
        foreach (var (name, value) in headers) resp.Headers[name] = value;
        resp.StatusCode = status;
        resp.ContentType = ContentType;
        resp.Headers.CacheControl = "no-store";
        if (retryAfterSeconds is { } ra) resp.Headers.RetryAfter = ra.ToString(System.Globalization.CultureInfo.InvariantCulture);
        requestId ??= ctx.Request.Headers[RequestIds.Header].ToString();
        if (!string.IsNullOrEmpty(requestId)) resp.Headers[RequestIds.Header] = requestId;
        if (HttpMethods.IsHead(ctx.Request.Method)) return;

        using var json = new Utf8JsonWriter(resp.BodyWriter);
        json.WriteStartObject();
        json.WriteString("type", "about:blank");
        json.WriteString("title", title);
        json.WriteNumber("status", status);
        json.WriteString("detail", detail);
        json.WriteString("instance", ctx.Request.Path.Value);
        if (!string.IsNullOrEmpty(requestId)) json.WriteString("requestId", requestId);
        json.WriteString("traceId", Activity.Current?.TraceId.ToString() ?? ctx.TraceIdentifier);
        if (errors is not null)
        {
            json.WriteStartArray("errors");
            foreach (var e in errors) json.WriteStringValue(e);
            json.WriteEndArray();
        }
        json.WriteEndObject();
        await json.FlushAsync(ctx.RequestAborted);
    }
}
