using SkiaSharp;

namespace Pipeline.MassTransit.Tests.Fixtures;

/// <summary>The shared photos (../shared/data/photos beside the repository) and checks of the PNGs made from them.</summary>
public static class Photos
{
    public static string Path(string name)
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Pipeline.sln")))
            {
                string candidate = System.IO.Path.GetFullPath(System.IO.Path.Combine(dir.FullName, "..", "shared", "data", "photos", name));
                Assert.True(File.Exists(candidate), $"shared photo {candidate} is missing (../shared/data/photos sits beside the repository)");
                return candidate;
            }
        }

        throw new InvalidOperationException($"Pipeline.sln not found above {AppContext.BaseDirectory}");
    }

    /// <summary>A temporary input folder holding a copy of the photo, and an output folder beside it.</summary>
    public static (string Input, string Output) Folders(params string[] photos)
    {
        string root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "bgpipe-mt-" + Guid.NewGuid().ToString("N"));
        string input = Directory.CreateDirectory(System.IO.Path.Combine(root, "in")).FullName;
        string output = Directory.CreateDirectory(System.IO.Path.Combine(root, "out")).FullName;
        foreach (string photo in photos)
        {
            File.Copy(Path(photo), System.IO.Path.Combine(input, photo));
        }

        return (input, output);
    }

    /// <summary>Asserts the file is a PNG with an alpha channel that is both transparent somewhere and opaque somewhere.</summary>
    public static void AssertCutout(string path)
    {
        Assert.True(File.Exists(path), $"no output at {path}");
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, bytes[..4]);
        using SKBitmap bitmap = SKBitmap.Decode(bytes);
        Assert.NotNull(bitmap);
        Assert.NotEqual(SKAlphaType.Opaque, bitmap.AlphaType);
        int transparent = 0, opaque = 0;
        for (int y = 0; y < bitmap.Height; y += 4)
        {
            for (int x = 0; x < bitmap.Width; x += 4)
            {
                byte a = bitmap.GetPixel(x, y).Alpha;
                transparent += a < 16 ? 1 : 0;
                opaque += a > 240 ? 1 : 0;
            }
        }

        Assert.True(transparent > 0 && opaque > 0, $"cut-out alpha has {transparent} transparent and {opaque} opaque samples");
    }
}
