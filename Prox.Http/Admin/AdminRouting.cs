using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Prox.Http.Errors;

namespace Prox.Http.Admin;

/// <summary>
/// What the admin plane answers when no endpoint takes a request: 405 with <c>Allow</c> when the path is in the
/// routing table under other methods, otherwise 404. The methods come from the endpoints' own
/// <see cref="HttpMethodMetadata"/>, in the order they were mapped, so the header cannot drift from the table.
/// </summary>
public static class AdminRouting
{
    /// <summary>The last-resort endpoint's handler; reads the table from <paramref name="sources"/> when asked.</summary>
    public static RequestDelegate NotFoundOrNotAllowed(ICollection<EndpointDataSource> sources) => ctx =>
    {
        var path = ctx.Request.Path.Value ?? "/";
        var allow = AllowedMethods(sources.SelectMany(s => s.Endpoints), path);
        if (allow.Count == 0) return NotFoundAsync(ctx);
        var list = string.Join(", ", allow);
        return Problems.WriteAsync(ctx, StatusCodes.Status405MethodNotAllowed, "Method not allowed",
            $"{path} supports {list}.", headers: ("Allow", list));
    };

    /// <summary>The answer for a path no admin endpoint names.</summary>
    public static Task NotFoundAsync(HttpContext ctx) =>
        Problems.WriteAsync(ctx, StatusCodes.Status404NotFound, "Not found",
            "Unknown admin endpoint. Try /status, /healthz, /readyz, /admin/events or /admin/audit.");

    /// <summary>The methods of every endpoint whose pattern names <paramref name="path"/> exactly, first mapped first.</summary>
    public static IReadOnlyList<string> AllowedMethods(IEnumerable<Endpoint> endpoints, string path)
    {
        var allow = new List<string>();
        foreach (var endpoint in endpoints)
        {
            if (endpoint is not RouteEndpoint { } e || e.Metadata.GetMetadata<IHttpMethodMetadata>() is not { } m
                || !IsExact(e.RoutePattern, path))
                continue;
            foreach (var method in m.HttpMethods)
                if (!allow.Contains(method, StringComparer.OrdinalIgnoreCase)) allow.Add(method);
        }
        return allow;
    }

    /// <summary>
    /// True when <paramref name="path"/> is what <paramref name="pattern"/> names, compared the way the hand-routed
    /// admin plane did: literal segments case-sensitively, no trailing slash, a parameter is one non-empty segment,
    /// a catch-all takes the rest. (Endpoint routing alone ignores case and a trailing slash.) Admin patterns have
    /// one part per segment.
    /// </summary>
    public static bool IsExact(RoutePattern pattern, string? path)
    {
        if (string.IsNullOrEmpty(path) || path[0] != '/') return false;
        var segments = path[1..].Split('/');
        var expected = pattern.PathSegments;
        for (var i = 0; i < expected.Count; i++)
        {
            var part = expected[i].Parts[0];
            if (part is RoutePatternParameterPart { IsCatchAll: true }) return true;
            if (i >= segments.Length) return false;
            var ok = part switch
            {
                RoutePatternLiteralPart literal => expected[i].Parts.Count == 1 && segments[i] == literal.Content,
                RoutePatternParameterPart => expected[i].Parts.Count == 1 && segments[i].Length > 0,
                _ => false,
            };
            if (!ok) return false;
        }
        return segments.Length == expected.Count;
    }
}
