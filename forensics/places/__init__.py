"""Places, offline: place names and time zones of GPS positions (geocode, service), the
shipped country outlines (outlines), map arithmetic for the workbench (mapgrid), a user's
MBTiles base map (mbtiles) and KML export (kml). Nothing here touches the network."""
