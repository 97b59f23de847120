echo "probe: booted"
