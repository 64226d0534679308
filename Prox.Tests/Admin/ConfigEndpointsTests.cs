using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Prox.Http.Admin;
using Xunit;

namespace Prox.Tests.Admin;

public class ConfigEndpointsTests(AdminPlane plane) : IClassFixture<AdminPlane>
{
    /// <summary>The paths the config history group answers (it waits for start-up); the reload is not one of them.</summary>
    [Theory]
    [InlineData("/admin/config", true)]
    [InlineData("/admin/config/versions", true)]
    [InlineData("/admin/config/versions/3", true)]
    [InlineData("/admin/config/diff", true)]
    [InlineData("/admin/config/rollback", true)]
    [InlineData("/admin/config/reload", false)]
    [InlineData("/admin/configx", false)]
    public void Map_ConfigHistoryPathsOnly(string path, bool handled) =>
        Assert.Equal(handled, plane.Endpoints.Any(e =>
            e.Metadata.GetMetadata<IHttpMethodMetadata>() is not null && AdminRouting.IsExact(e.RoutePattern, path)
            && e.Metadata.GetMetadata<IEndpointGroupNameMetadata>()?.EndpointGroupName == ConfigEndpoints.HistoryGroup));
}
