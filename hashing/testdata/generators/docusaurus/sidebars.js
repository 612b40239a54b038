export default { docs: ['intro', 'guide', 'reference'] };
