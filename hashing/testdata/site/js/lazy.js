export default /"import\('\.\/x\.js'\)"/.source;
